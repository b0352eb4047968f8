//! Drawing RGBA pixels on a 2D canvas (a `webgpu` canvas context crashes headless Chromium, and
//! the results are small images anyway).

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

pub fn draw_rgba(canvas: &HtmlCanvasElement, width: usize, height: usize, rgba: &[u8]) -> Result<(), String> {
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    let ctx = canvas
        .get_context("2d")
        .map_err(|_| "no 2D canvas context".to_string())?
        .ok_or("no 2D canvas context")?
        .dyn_into::<CanvasRenderingContext2d>()
        .map_err(|_| "not a 2D canvas context".to_string())?;
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32)
        .map_err(|_| "cannot make image data".to_string())?;
    ctx.put_image_data(&data, 0.0, 0.0).map_err(|_| "cannot draw".to_string())
}
