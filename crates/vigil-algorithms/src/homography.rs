//! A plane-to-plane homography from four point pairs (direct linear transform with `h33 = 1`,
//! an 8x8 linear solve): maps picture pixels of the road to metres on the road for speeding
//! detection.

/// A 3x3 projective map, row-major, `h[8] = 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    h: [f64; 9],
}

/// Four pairs that do not define a homography (three points on one line, repeated points).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Degenerate(pub &'static str);

/// Twice the area of triangle `abc`.
fn area2(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// True when some three of the points are (nearly) on one line, relative to the spread of the
/// points.
fn has_collinear_triple(p: &[[f64; 2]; 4]) -> bool {
    let span = p
        .iter()
        .flat_map(|a| p.iter().map(move |b| (a[0] - b[0]).hypot(a[1] - b[1])))
        .fold(0.0, f64::max);
    // Also true for NaN spans.
    if span.is_nan() || span <= 0.0 {
        return true;
    }
    let eps = 1e-3 * span * span;
    (0..4).any(|skip| {
        let t: Vec<[f64; 2]> = (0..4).filter(|&i| i != skip).map(|i| p[i]).collect();
        area2(t[0], t[1], t[2]).abs() <= eps
    })
}

impl Homography {
    /// The map taking each `from[i]` to `to[i]`.
    pub fn from_points(from: &[[f64; 2]; 4], to: &[[f64; 2]; 4]) -> Result<Self, Degenerate> {
        if has_collinear_triple(from) {
            return Err(Degenerate("three of the image points lie on one line"));
        }
        if has_collinear_triple(to) {
            return Err(Degenerate("three of the ground points lie on one line"));
        }
        // Rows: h11 x + h12 y + h13 - h31 x X - h32 y X = X, and the same for Y.
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ([x, y], [gx, gy]) = (from[i], to[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -x * gx, -y * gx, gx];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -x * gy, -y * gy, gy];
        }
        let s = solve8(a).ok_or(Degenerate("the points do not define a plane-to-plane map"))?;
        Ok(Homography {
            h: [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], 1.0],
        })
    }

    /// The image of `(x, y)`; `None` on or behind the horizon of the map.
    pub fn apply(&self, x: f64, y: f64) -> Option<[f64; 2]> {
        let h = &self.h;
        let w = h[6] * x + h[7] * y + h[8];
        if w.is_nan() || w <= 1e-12 {
            return None;
        }
        let out = [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
        out.iter().all(|v| v.is_finite()).then_some(out)
    }
}

/// Gaussian elimination with partial pivoting on an 8x9 augmented matrix; `None` if singular.
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    let scale = a.iter().flat_map(|r| r[..8].iter()).fold(0.0f64, |m, v| m.max(v.abs()));
    if scale.is_nan() || scale <= 0.0 {
        return None;
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let (top, rest) = a.split_at_mut(col + 1);
        let p = &top[col];
        for r in rest {
            let f = r[col] / p[col];
            for (v, pv) in r[col..].iter_mut().zip(&p[col..]) {
                *v -= f * pv;
            }
        }
    }
    let mut x = [0.0f64; 8];
    for row in (0..8).rev() {
        let s: f64 = (row + 1..8).map(|k| a[row][k] * x[k]).sum();
        x[row] = (a[row][8] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn maps_the_four_pairs_and_recovers_a_known_projective_map() {
        // A known map: H = [[0.02, 0.001, -3], [0.0005, 0.05, -10], [0.00001, 0.0004, 1]].
        let k = [0.02, 0.001, -3.0, 0.0005, 0.05, -10.0, 0.00001, 0.0004, 1.0];
        let truth = Homography { h: k };
        let from = [[100.0, 600.0], [1800.0, 620.0], [1500.0, 1000.0], [300.0, 1050.0]];
        let to = from.map(|p| truth.apply(p[0], p[1]).expect("in front"));
        let h = Homography::from_points(&from, &to).expect("solvable");
        for (f, t) in from.iter().zip(&to) {
            assert!(close(h.apply(f[0], f[1]).expect("maps"), *t));
        }
        // A fifth point it was not given lands where the true map puts it.
        let p = truth.apply(960.0, 800.0).expect("maps");
        assert!(close(h.apply(960.0, 800.0).expect("maps"), p));
    }

    #[test]
    fn a_scaled_rectangle_is_a_similarity() {
        let from = [[0.0, 0.0], [768.0, 0.0], [768.0, 432.0], [0.0, 432.0]];
        let to = from.map(|p| [p[0] / 64.0, p[1] / 64.0]);
        let h = Homography::from_points(&from, &to).expect("solvable");
        let a = h.apply(100.0, 100.0).expect("maps");
        let b = h.apply(164.0, 100.0).expect("maps");
        assert!(((b[0] - a[0]) - 1.0).abs() < 1e-9 && (b[1] - a[1]).abs() < 1e-9);
    }

    #[test]
    fn refuses_collinear_and_repeated_points() {
        let line = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 5.0]];
        let ok = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!(Homography::from_points(&line, &ok).is_err());
        assert!(Homography::from_points(&ok, &line).is_err());
        assert!(Homography::from_points(&[[3.0, 3.0]; 4], &ok).is_err());
        assert!(Homography::from_points(&ok, &ok).is_ok());
    }

    #[test]
    fn points_behind_the_horizon_have_no_image() {
        let h = Homography {
            h: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -0.01, 1.0],
        };
        assert!(h.apply(0.0, 50.0).is_some());
        assert!(h.apply(0.0, 100.0).is_none());
        assert!(h.apply(0.0, 200.0).is_none());
    }
}
