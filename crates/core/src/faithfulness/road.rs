//! ROAD's noisy linear imputation (Rong et al. 2022): every removed pixel becomes the weighted
//! mean of its eight neighbours, all removed pixels solved together, plus a little noise.
//!
//! The system is a 9-point Laplacian over the holes, with the kept pixels as boundary values.
//! Plain conjugate gradients need about one step per pixel of the widest hole (some 3000 steps
//! for an image's 21 curve points at 128 px), which made ROAD most of the Trust panel's time.
//! Here each step is preconditioned by one multigrid V-cycle (Galerkin coarsening with bilinear
//! interpolation, symmetric Gauss-Seidel smoothing), so the step count no longer grows with the
//! hole. The answer is the same system's to the same relative residual.

use crate::plane::Plane;
use rand::{RngExt, SeedableRng};

/// ROAD's neighbour weights: 1/6 for the four sides, 1/12 for the corners, as (dx, dy, weight).
const NEIGHBOURS: [(isize, isize, f32); 8] =
    [(0, 1, 1.0 / 6.0), (0, -1, 1.0 / 6.0), (1, 0, 1.0 / 6.0), (-1, 0, 1.0 / 6.0), (1, 1, 1.0 / 12.0), (1, -1, 1.0 / 12.0), (-1, 1, 1.0 / 12.0), (-1, -1, 1.0 / 12.0)];

/// Noise added to imputed pixels, on the model's input scale (ROAD's 0.01).
pub const ROAD_NOISE: f32 = 0.01;

/// How far the solve goes: the residual relative to the right-hand side.
const TOLERANCE: f64 = 1e-4;

/// ROAD's imputation of the `removed` pixels of `image`, with noise of sd [`ROAD_NOISE`] drawn
/// from `seed`. The system is symmetric positive definite whenever one pixel is kept; with
/// nothing kept, the pixels become 0.
pub fn impute(image: &Plane, removed: &[bool], seed: u64) -> Plane {
    with_noise(&solve(image, removed), removed, seed)
}

/// ROAD's system solved, without noise.
fn solve(image: &Plane, removed: &[bool]) -> Plane {
    solve_counting(image, removed).0
}

/// [`solve`], and the conjugate-gradient steps it took.
fn solve_counting(image: &Plane, removed: &[bool]) -> (Plane, usize) {
    let (w, h) = (image.width, image.height);
    let holes = removed.iter().filter(|&&r| r).count();
    if holes == 0 {
        return (image.clone(), 0);
    }
    if holes == w * h {
        return (Plane::new(w, h, vec![0.0; w * h]), 0);
    }
    let (finest, b) = Level::road(image, removed);
    let mut levels = vec![finest];
    while levels.last().is_some_and(|l| l.w.max(l.h) > 5) {
        let coarser = levels.last().map(Level::coarser).expect("one level at least");
        levels.push(coarser);
    }
    let mut x = levels[0].zeros();
    for (i, v) in starting_guess(image, removed).into_iter().enumerate() {
        x[levels[0].at(i % w, i / w)] = v;
    }
    let steps = conjugate_gradients(&levels, &b, &mut x, 4 * (w + h));
    let mut out = image.data.clone();
    for (i, v) in out.iter_mut().enumerate().filter(|(i, _)| removed[*i]) {
        *v = x[levels[0].at(i % w, i / w)];
    }
    (Plane::new(w, h, out), steps)
}

/// A normalised blur of the kept pixels on the holes (their mean where none is near), 0 elsewhere.
fn starting_guess(image: &Plane, removed: &[bool]) -> Vec<f32> {
    let (w, h) = (image.width, image.height);
    let kept = Plane::new(w, h, removed.iter().map(|&r| if r { 0.0 } else { 1.0 }).collect());
    let masked = Plane::new(w, h, image.data.iter().zip(removed).map(|(&v, &r)| if r { 0.0 } else { v }).collect());
    let (num, den) = (crate::cam::refine::box_blurred(&masked, 8), crate::cam::refine::box_blurred(&kept, 8));
    let count = removed.iter().filter(|&&r| !r).count().max(1);
    let mean_kept = masked.data.iter().sum::<f32>() / count as f32;
    (0..w * h).map(|i| if !removed[i] { 0.0 } else if den.data[i] > 1e-6 { num.data[i] / den.data[i] } else { mean_kept }).collect()
}

/// `solution` with noise of sd [`ROAD_NOISE`] on its removed pixels.
fn with_noise(solution: &Plane, removed: &[bool], seed: u64) -> Plane {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = solution.clone();
    for (v, _) in out.data.iter_mut().zip(removed).filter(|(_, &r)| r) {
        // A sum of 12 uniforms, centred: a cheap normal draw (sd 1).
        let z: f32 = (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0;
        *v += ROAD_NOISE * z;
    }
    out
}

/// One grid of the multigrid hierarchy: a 9-point operator on `w` x `h` cells, stored with a
/// border of one empty cell on each side so that every cell has all eight neighbours. A cell
/// whose centre coefficient is 0 is not an unknown (a kept pixel, the border, or a coarse cell
/// that no hole reaches): its row is empty and its value stays 0.
struct Level {
    w: usize,
    h: usize,
    /// Per cell, the coefficients to the cells at (dx, dy) in -1..=1, index (dy + 1) * 3 + dx + 1
    /// (4 is the cell itself).
    a: Vec<[f32; 9]>,
    /// 1 / the centre coefficient, 0 where the cell is not an unknown.
    inverse: Vec<f32>,
}

impl Level {
    fn stride(&self) -> usize {
        self.w + 2
    }

    /// Where cell (x, y) is stored.
    fn at(&self, x: usize, y: usize) -> usize {
        (y + 1) * self.stride() + x + 1
    }

    fn zeros(&self) -> Vec<f32> {
        vec![0.0; (self.w + 2) * (self.h + 2)]
    }

    /// Storage offset of neighbour k.
    fn offset(&self, k: usize) -> isize {
        (k as isize / 3 - 1) * self.stride() as isize + (k as isize % 3 - 1)
    }

    /// ROAD's system on the image's grid, and its right-hand side: a hole's own coefficient is
    /// the weight of its neighbours inside the image, a hole neighbour's is minus its weight,
    /// and kept neighbours move their weighted values to the right-hand side.
    fn road(image: &Plane, removed: &[bool]) -> (Level, Vec<f32>) {
        let (w, h) = (image.width, image.height);
        let mut level = Level { w, h, a: vec![[0.0; 9]; (w + 2) * (h + 2)], inverse: Vec::new() };
        let mut b = level.zeros();
        for y in 0..h {
            for x in 0..w {
                if !removed[y * w + x] {
                    continue;
                }
                let p = level.at(x, y);
                for &(dx, dy, weight) in &NEIGHBOURS {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    level.a[p][4] += weight;
                    if removed[j] {
                        level.a[p][((dy + 1) * 3 + dx + 1) as usize] = -weight;
                    } else {
                        b[p] += weight * image.data[j];
                    }
                }
            }
        }
        level.invert();
        (level, b)
    }

    fn invert(&mut self) {
        self.inverse = self.a.iter().map(|row| if row[4] != 0.0 { 1.0 / row[4] } else { 0.0 }).collect();
    }

    /// The Galerkin coarse operator P^T A P, with P the bilinear interpolation (coarse cell X
    /// sits on fine cell 2X) restricted to this level's unknowns. It is again a 9-point operator.
    fn coarser(&self) -> Level {
        let mut coarse = Level { w: self.w / 2 + 1, h: self.h / 2 + 1, a: Vec::new(), inverse: Vec::new() };
        coarse.a = vec![[0.0; 9]; (coarse.w + 2) * (coarse.h + 2)];
        for y in 0..self.h {
            for x in 0..self.w {
                let row = self.a[self.at(x, y)];
                if row[4] == 0.0 {
                    continue;
                }
                let (xs, ys) = (parents(x), parents(y));
                for (k, &c) in row.iter().enumerate() {
                    if c == 0.0 {
                        continue;
                    }
                    let (nxs, nys) = (parents(x + k % 3 - 1), parents(y + k / 3 - 1));
                    for &(cy, wy) in ys.iter().filter(|p| p.1 > 0.0) {
                        for &(cx, wx) in xs.iter().filter(|p| p.1 > 0.0) {
                            let p = coarse.at(cx, cy);
                            let scale = wx * wy * c;
                            // A neighbour's parents lie within one coarse cell of the cell's own.
                            for &(dy, vy) in nys.iter().filter(|p| p.1 > 0.0) {
                                for &(dx, vx) in nxs.iter().filter(|p| p.1 > 0.0) {
                                    coarse.a[p][(dy + 1 - cy) * 3 + dx + 1 - cx] += scale * vx * vy;
                                }
                            }
                        }
                    }
                }
            }
        }
        coarse.invert();
        coarse
    }

    /// y = A x.
    fn apply(&self, x: &[f32], y: &mut [f32]) {
        let offsets: [isize; 9] = std::array::from_fn(|k| self.offset(k));
        for (p, row) in self.a.iter().enumerate() {
            if row[4] != 0.0 {
                let at = |k: usize| x[(p as isize + offsets[k]) as usize];
                y[p] = row[0] * at(0) + row[1] * at(1) + row[2] * at(2) + row[3] * at(3) + row[4] * at(4) + row[5] * at(5) + row[6] * at(6) + row[7] * at(7) + row[8] * at(8);
            }
        }
    }

    /// One Gauss-Seidel sweep on A x = b, forwards or backwards through the cells. Within a
    /// row only the neighbour just behind depends on this sweep's updates, so the other eight
    /// terms are summed for the whole row first (a loop that vectorises), then the row is
    /// relaxed in order.
    fn sweep(&self, b: &[f32], x: &mut [f32], forwards: bool) {
        let s = self.stride();
        let mut rest = vec![0.0f32; self.w];
        let rows: Box<dyn Iterator<Item = usize>> = if forwards { Box::new(0..self.h) } else { Box::new((0..self.h).rev()) };
        for y in rows {
            let first = self.at(0, y);
            let cells = &self.a[first..first + self.w];
            // Forwards the left neighbour (k = 3) is the one just updated, backwards the right (k = 5).
            let behind = if forwards { 3 } else { 5 };
            // The rows above and below, and the neighbour ahead, as slices of the row's span.
            let (above, here, below) = (&x[first - s - 1..first - s + self.w + 1], &x[first - 1..first + self.w + 1], &x[first + s - 1..first + s + self.w + 1]);
            let ahead = if forwards { &here[2..] } else { &here[..self.w] };
            let k_ahead = if forwards { 5 } else { 3 };
            let b = &b[first..first + self.w];
            for i in 0..self.w {
                let row = &cells[i];
                let vertical = row[0] * above[i] + row[1] * above[i + 1] + row[2] * above[i + 2] + row[6] * below[i] + row[7] * below[i + 1] + row[8] * below[i + 2];
                rest[i] = b[i] - vertical - row[k_ahead] * ahead[i];
            }
            let inverse = &self.inverse[first..first + self.w];
            // The recurrence is this loop's critical path: the value just computed is carried,
            // not read back, and multiplied by the kept inverse, not divided (a cell that is
            // not an unknown has an inverse of 0 and stays 0).
            let mut carried = 0.0; // the border cell behind the row's first
            let mut relax = |i: usize| {
                carried = (rest[i] - cells[i][behind] * carried) * inverse[i];
                x[first + i] = carried;
            };
            if forwards {
                (0..self.w).for_each(&mut relax);
            } else {
                (0..self.w).rev().for_each(&mut relax);
            }
        }
    }
}

/// The coarse cells that fine index `v` interpolates from along one axis, with their weights
/// (an even cell sits on one, an odd one halfway between two; a weight of 0 is no cell).
fn parents(v: usize) -> [(usize, f32); 2] {
    if v % 2 == 0 { [(v / 2, 1.0), (0, 0.0)] } else { [(v / 2, 0.5), (v / 2 + 1, 0.5)] }
}

/// One V-cycle from zero on `levels[0]`'s A e = r: a symmetric operator (a forward sweep
/// before the coarse correction, a backward one after), as conjugate gradients need.
fn v_cycle(levels: &[Level], r: &[f32]) -> Vec<f32> {
    let level = &levels[0];
    let mut e = level.zeros();
    let Some(coarse) = levels.get(1) else {
        for _ in 0..8 {
            level.sweep(r, &mut e, true);
            level.sweep(r, &mut e, false);
        }
        return e;
    };
    level.sweep(r, &mut e, true);
    let mut residual = level.zeros();
    level.apply(&e, &mut residual);
    residual.iter_mut().zip(r).for_each(|(v, r)| *v = r - *v);
    let mut restricted = coarse.zeros();
    each_parent(level, coarse, |p, q, weight| restricted[q] += weight * residual[p]);
    let correction = v_cycle(&levels[1..], &restricted);
    each_parent(level, coarse, |p, q, weight| e[p] += weight * correction[q]);
    level.sweep(r, &mut e, false);
    e
}

/// Calls `visit(fine cell, coarse cell, weight)` for each unknown of `fine` and each coarse
/// cell it interpolates from: P's entries.
fn each_parent(fine: &Level, coarse: &Level, mut visit: impl FnMut(usize, usize, f32)) {
    for y in 0..fine.h {
        for x in 0..fine.w {
            let p = fine.at(x, y);
            if fine.a[p][4] != 0.0 {
                for &(cy, wy) in parents(y).iter().filter(|p| p.1 > 0.0) {
                    for &(cx, wx) in parents(x).iter().filter(|p| p.1 > 0.0) {
                        visit(p, coarse.at(cx, cy), wx * wy);
                    }
                }
            }
        }
    }
}

/// Solves `levels[0]`'s A x = b from the `x` given, each step preconditioned by a V-cycle,
/// until the residual is below [`TOLERANCE`] times |b| or after `limit` steps. Returns the
/// steps taken.
fn conjugate_gradients(levels: &[Level], b: &[f32], x: &mut [f32], limit: usize) -> usize {
    let level = &levels[0];
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>();
    let mut r = level.zeros();
    level.apply(x, &mut r);
    r.iter_mut().zip(b).for_each(|(r, b)| *r = b - *r);
    let mut z = v_cycle(levels, &r);
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let stop = (TOLERANCE * dot(b, b).sqrt()).max(1e-12);
    let mut ap = level.zeros();
    for step in 0..limit {
        if dot(&r, &r).sqrt() <= stop {
            return step;
        }
        level.apply(&p, &mut ap);
        let alpha = rz / dot(&p, &ap);
        for k in 0..x.len() {
            x[k] += (alpha * p[k] as f64) as f32;
            r[k] -= (alpha * ap[k] as f64) as f32;
        }
        z = v_cycle(levels, &r);
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        for k in 0..x.len() {
            p[k] = z[k] + (beta * p[k] as f64) as f32;
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured 128 px image (a smooth gradient under a hash pattern, like ultrasound speckle).
    fn speckle() -> Plane {
        let n = 128;
        Plane::new(n, n, (0..n * n).map(|i| (i % n) as f32 / n as f32 + ((i as u32).wrapping_mul(2_654_435_761) >> 24) as f32 / 512.0).collect())
    }

    /// |sum over each hole's neighbours of w (x_hole - x_neighbour)| over |the kept neighbours' pull|:
    /// how far `x` is from ROAD's equations, computed from the weights, not from the solver's matrix.
    fn relative_residual(image: &Plane, removed: &[bool], x: &Plane) -> f64 {
        let (w, h) = (image.width, image.height);
        let (mut r2, mut b2) = (0.0f64, 0.0f64);
        for i in (0..w * h).filter(|&i| removed[i]) {
            let (mut r, mut b) = (0.0f64, 0.0f64);
            for &(dx, dy, weight) in &NEIGHBOURS {
                let (nx, ny) = ((i % w) as isize + dx, (i / w) as isize + dy);
                if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                    let j = ny as usize * w + nx as usize;
                    r += weight as f64 * (x.data[i] as f64 - x.data[j] as f64);
                    if !removed[j] {
                        b += weight as f64 * image.data[j] as f64;
                    }
                }
            }
            r2 += r * r;
            b2 += b * b;
        }
        (r2 / b2).sqrt()
    }

    #[test]
    fn the_multigrid_solve_meets_roads_equations_in_a_few_steps_whatever_the_hole() {
        let image = speckle();
        let n = image.width;
        for radius in [6.0f32, 30.0, 60.0] {
            // A disc, and every 7th pixel elsewhere: one large hole and many single ones.
            let removed: Vec<bool> = (0..n * n).map(|i| ((i % n) as f32 - 64.0).hypot((i / n) as f32 - 60.0) < radius || i % 7 == 0).collect();
            let (x, steps) = solve_counting(&image, &removed);
            let residual = relative_residual(&image, &removed, &x);
            assert!(residual < 2e-4, "radius {radius}: residual {residual}");
            // Plain conjugate gradients took about one step per pixel of the hole's width.
            assert!(steps <= 12, "radius {radius}: {steps} steps");
            assert!((0..n * n).filter(|&i| !removed[i]).all(|i| x.data[i] == image.data[i]), "kept pixels are untouched");
        }
    }
}
