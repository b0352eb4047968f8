//! The page's training step, layer by layer, timed from JavaScript (`bench.mjs`): each export
//! runs one of `crates/model/src/train/backprop/layers.rs`'s functions `iters` times on a batch
//! of `n` images of one LGG layer's shape, compiled here as the worker compiles it; the
//! convolutions with the `gemm` crate's kernel, the page's tiled one, or Winograd's around it.

mod inference;
#[path = "../../../crates/model/src/train/backprop/layers.rs"]
#[allow(dead_code)]
mod layers;

/// The `gemm` crate's kernel (0), the page's tiled one on im2col (1), or Winograd's transforms
/// around the tiled one (2).
fn kernel(which: u32) -> inference::tiled::Kernel {
    use inference::tiled::Kernel;
    match which {
        0 => Kernel::Gemm,
        1 => Kernel::Tiled,
        _ => Kernel::Winograd,
    }
}

fn test_values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// Convolution forward: [out, in * 9] x im2col, `n` images of `h` x `h`.
#[no_mangle]
pub extern "C" fn conv(which: u32, inputs: usize, out: usize, h: usize, n: usize, iters: usize) -> f32 {
    let (w, x) = (test_values(out * inputs * 9, 1), test_values(n * inputs * h * h, 2));
    let mut y = vec![0.0; n * out * h * h];
    (0..iters).map(|_| {
        layers::conv(kernel(which), &w, inputs, out, &x, n, h, h, &mut y);
        y[0]
    }).sum()
}

/// Convolution backward: the weights' gradient, and with `input_grad` the input's.
#[no_mangle]
pub extern "C" fn conv_backward(which: u32, inputs: usize, out: usize, h: usize, n: usize, input_grad: bool, iters: usize) -> f32 {
    let (w, x, dy) = (test_values(out * inputs * 9, 1), test_values(n * inputs * h * h, 2), test_values(n * out * h * h, 3));
    let mut dx = vec![0.0; x.len()];
    (0..iters).map(|_| layers::conv_backward(kernel(which), &w, inputs, out, &x, &dy, n, h, h, input_grad.then_some(&mut dx[..]))[0]).sum()
}

/// Batch norm and ReLU forward, then backward.
#[no_mangle]
pub extern "C" fn norm(out: usize, h: usize, n: usize, iters: usize) -> f32 {
    let (y, gamma, beta) = (test_values(n * out * h * h, 4), test_values(out, 5), test_values(out, 6));
    let mut total = 0.0;
    for _ in 0..iters {
        let normed = layers::norm_relu(y.clone(), n, out, h * h, &gamma, &beta, 1e-5, vec![0.0; y.len()]);
        let mut d = test_values(n * out * h * h, 7);
        total += layers::norm_relu_backward(&mut d, &normed, &gamma, &beta, n, out, h * h).0[0];
    }
    total
}

/// 2x2 max pooling forward and backward of `n` images of `channels` planes of `h` x `h`.
#[no_mangle]
pub extern "C" fn pool(channels: usize, h: usize, n: usize, iters: usize) -> f32 {
    let x = test_values(n * channels * h * h, 8);
    let d = test_values(n * channels * h * h / 4, 9);
    let mut back = vec![0.0; x.len()];
    (0..iters).map(|_| {
        layers::max_pool2_backward(&d, &x, n * channels, h, h, &mut back);
        inference::max_pool2_planes(&x, h, h)[0] + back[0]
    }).sum()
}

/// How far the pooling in wasm SIMD lanes is from the plain comparisons, on planes whose
/// rows have lane groups and a tail: 0 when they agree (bench.mjs checks it first).
#[no_mangle]
pub extern "C" fn pool_disagreement(channels: usize, h: usize, w: usize) -> f32 {
    let x = test_values(channels * h * w, 10);
    let pooled = inference::max_pool2_planes(&x, h, w);
    let (oh, ow) = (h / 2, w / 2);
    let mut worst = 0.0f32;
    for c in 0..channels {
        for y in 0..oh {
            for x0 in 0..ow {
                let at = |dy: usize, dx: usize| x[c * h * w + (2 * y + dy) * w + 2 * x0 + dx];
                let big = |a: f32, b: f32| if a > b { a } else { b };
                let want = big(big(at(0, 0), at(0, 1)), big(at(1, 0), at(1, 1)));
                worst = worst.max((pooled[c * oh * ow + y * ow + x0] - want).abs());
            }
        }
    }
    worst
}

/// Inference's forward convolution of `n` images, one at a time as the page's CAM runs them
/// (bias and ReLU after): Winograd F(2x2, 3x3) (`four` false) or F(4x4, 3x3) (`four` true).
#[no_mangle]
pub extern "C" fn conv_inference(four: bool, inputs: usize, out: usize, h: usize, n: usize, iters: usize) -> f32 {
    use inference::{winograd, winograd4};
    let (w, x, bias) = (test_values(out * inputs * 9, 1), test_values(n * inputs * h * h, 2), test_values(out, 4));
    let mut y = vec![0.0; n * out * h * h];
    let (two_filters, four_filters) = (winograd::Filters::new(&w, inputs, out), winograd4::Filters::new(&w, inputs, out));
    (0..iters).map(|_| {
        for (image, dst) in x.chunks_exact(inputs * h * h).zip(y.chunks_exact_mut(out * h * h)) {
            if four {
                winograd4::conv_image(&four_filters, image, h, h, dst, winograd::Epilogue::BiasRelu(&bias));
            } else {
                winograd::conv_image(&two_filters, image, h, h, dst, winograd::Epilogue::BiasRelu(&bias));
            }
        }
        y[0]
    }).sum()
}

/// The largest difference between F(2x2, 3x3)'s and F(4x4, 3x3)'s outputs on one image.
#[no_mangle]
pub extern "C" fn inference_disagreement(inputs: usize, out: usize, h: usize) -> f32 {
    use inference::{winograd, winograd4};
    let (w, x) = (test_values(out * inputs * 9, 1), test_values(inputs * h * h, 2));
    let (mut two, mut four) = (vec![0.0; out * h * h], vec![0.0; out * h * h]);
    winograd::conv_image(&winograd::Filters::new(&w, inputs, out), &x, h, h, &mut two, winograd::Epilogue::Set);
    winograd4::conv_image(&winograd4::Filters::new(&w, inputs, out), &x, h, h, &mut four, winograd::Epilogue::Set);
    two.iter().zip(&four).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}
