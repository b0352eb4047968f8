//! A single-channel float image: the common currency between decoding, the model input,
//! heatmaps and filters. Row-major, `data[y * width + x]`.

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    #[serde(with = "floats_as_bytes")]
    pub data: Vec<f32>,
}

/// A plane's pixels as one block of little-endian bytes when serialised (the page <-> worker
/// messages carry many planes; bincode would otherwise write each float on its own).
pub(crate) mod floats_as_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom("plane data is not a whole number of floats"));
        }
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

impl Plane {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "plane data does not match its size");
        Self { width, height, data }
    }

    pub fn zeros(width: usize, height: usize) -> Self {
        Self::new(width, height, vec![0.0; width * height])
    }

    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear resampling with pixel centres aligned as in OpenCV / PyTorch
    /// (`align_corners = false`), so a map upsampled here matches the reference tools.
    pub fn resize_bilinear(&self, width: usize, height: usize) -> Plane {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let axis = |out: usize, scale: f32, len: usize| {
            let src = ((out as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            (i0, i1, src - i0 as f32)
        };
        let cols: Vec<_> = (0..width).map(|x| axis(x, sx, self.width)).collect();
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            let (y0, y1, fy) = axis(y, sy, self.height);
            for &(x0, x1, fx) in &cols {
                let top = self.get(x0, y0) * (1.0 - fx) + self.get(x1, y0) * fx;
                let bottom = self.get(x0, y1) * (1.0 - fx) + self.get(x1, y1) * fx;
                data.push(top * (1.0 - fy) + bottom * fy);
            }
        }
        Plane::new(width, height, data)
    }

    /// Min-max normalisation to [0, 1]. A constant plane (no contrast, e.g. an all-zero CAM)
    /// becomes all zeros: "no evidence anywhere", never NaN.
    pub fn normalised(&self) -> Plane {
        let (lo, hi) = self
            .data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let range = hi - lo;
        let data = if range > f32::EPSILON * hi.abs().max(1.0) && range.is_finite() {
            self.data.iter().map(|v| (v - lo) / range).collect()
        } else {
            vec![0.0; self.data.len()]
        };
        Plane::new(self.width, self.height, data)
    }

    /// Mirror left-right (a training augmentation).
    pub fn flipped_horizontally(&self) -> Plane {
        let mut data = Vec::with_capacity(self.data.len());
        for row in self.data.chunks(self.width) {
            data.extend(row.iter().rev());
        }
        Plane::new(self.width, self.height, data)
    }

    /// Every value raised to `power` (negatives taken as 0): a contrast change that keeps 0 and
    /// 1 (the head mean after normalisation) in place (a training augmentation).
    pub fn powered(&self, power: f32) -> Plane {
        Plane::new(self.width, self.height, self.data.iter().map(|v| v.max(0.0).powf(power)).collect())
    }

    /// Rotate by `angle` radians and scale by `scale` about the centre, then shift by
    /// (`dx`, `dy`) pixels; bilinear, zero outside (a training augmentation: scans arrive
    /// slightly tilted, zoomed and off-centre).
    pub fn transformed(&self, angle: f32, scale: f32, dx: f32, dy: f32) -> Plane {
        let (cx, cy) = ((self.width as f32 - 1.0) / 2.0, (self.height as f32 - 1.0) / 2.0);
        let (sin, cos) = angle.sin_cos();
        let sample = |x: f32, y: f32| -> f32 {
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            let at = |xi: f32, yi: f32| {
                if xi < 0.0 || yi < 0.0 || xi >= self.width as f32 || yi >= self.height as f32 {
                    0.0
                } else {
                    self.get(xi as usize, yi as usize)
                }
            };
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
            let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
            top * (1.0 - fy) + bottom * fy
        };
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..self.height {
            for x in 0..self.width {
                // Inverse map: output pixel -> source position.
                let (u, v) = ((x as f32 - dx - cx) / scale, (y as f32 - dy - cy) / scale);
                data.push(sample(cos * u + sin * v + cx, -sin * u + cos * v + cy));
            }
        }
        Plane::new(self.width, self.height, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_upsample_of_a_ramp_is_a_ramp() {
        let p = Plane::new(2, 1, vec![0.0, 1.0]);
        let up = p.resize_bilinear(4, 1);
        // Centres at 0.25, 0.75, 1.25, 1.75 of the 2-px grid -> clamp, 0.25, 0.75, clamp.
        assert_eq!(up.data, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn normalising_a_constant_plane_gives_zeros() {
        let p = Plane::new(2, 2, vec![3.0; 4]);
        assert_eq!(p.normalised().data, vec![0.0; 4]);
        let q = Plane::new(2, 1, vec![2.0, 4.0]).normalised();
        assert_eq!(q.data, vec![0.0, 1.0]);
    }

    #[test]
    fn shift_and_flip_move_pixels() {
        let p = Plane::new(3, 1, vec![1.0, 2.0, 3.0]);
        assert_eq!(p.flipped_horizontally().data, vec![3.0, 2.0, 1.0]);
        assert_eq!(p.transformed(0.0, 1.0, 1.0, 0.0).data, vec![0.0, 1.0, 2.0]);
        assert_eq!(p.transformed(0.0, 1.0, 0.0, 1.0).data, vec![0.0, 0.0, 0.0]);
        assert_eq!(p.transformed(0.0, 1.0, 0.0, 0.0), p);
    }

    #[test]
    fn a_power_stretches_contrast_around_the_head_mean() {
        let p = Plane::new(4, 1, vec![-0.5, 0.0, 1.0, 2.0]);
        assert_eq!(p.powered(2.0).data, vec![0.0, 0.0, 1.0, 4.0]);
        assert_eq!(p.powered(1.0).data, vec![0.0, 0.0, 1.0, 2.0]);
        assert!((p.powered(0.5).data[3] - 2f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn quarter_turn_rotates_a_square() {
        let p = Plane::new(3, 3, (0..9).map(|v| v as f32).collect());
        let r = p.transformed(std::f32::consts::FRAC_PI_2, 1.0, 0.0, 0.0);
        let expected = [6.0, 3.0, 0.0, 7.0, 4.0, 1.0, 8.0, 5.0, 2.0]; // clockwise on screen (y down)
        for (a, b) in r.data.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{:?}", r.data);
        }
    }
}
