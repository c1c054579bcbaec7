//! An orbit camera over the local metric frame: a target point on the ground, a
//! distance, a heading and a tilt.
//!
//! The frame is east-north-up in metres around an origin near the islands' middle, so
//! `f32` positions keep millimetre precision across the 80 km of the district. The
//! projection is a reversed-Z infinite perspective (depth 1 at the near plane, 0 at
//! infinity): with a `Depth32Float` buffer that keeps sub-metre depth precision from a
//! street view to the whole estuary.

use glam::{Mat4, Vec3, Vec4};

/// Orbit camera state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitCamera {
    /// The point looked at, metres in the local frame.
    pub target: Vec3,
    /// Distance from the target to the eye (m).
    pub distance: f32,
    /// Heading the camera looks towards, radians clockwise from north.
    pub heading: f32,
    /// Angle below the horizon the camera looks down at, radians (π/2 = straight down).
    pub pitch: f32,
    /// Vertical field of view, radians.
    pub fovy: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        OrbitCamera {
            target: Vec3::ZERO,
            distance: 1000.0,
            heading: 0.0,
            pitch: 60f32.to_radians(),
            fovy: 45f32.to_radians(),
        }
    }
}

/// The smallest pitch (looking nearly along the ground) and the largest (straight down).
const PITCH_RANGE: (f32, f32) = (0.05, std::f32::consts::FRAC_PI_2 - 1e-4);

impl OrbitCamera {
    /// A camera looking straight down at a box (min, max corners) so it fills the view.
    pub fn top_down(min: [f32; 3], max: [f32; 3], aspect: f32) -> OrbitCamera {
        let mut c = OrbitCamera {
            pitch: PITCH_RANGE.1,
            ..OrbitCamera::default()
        };
        c.fit(min, max, aspect);
        c
    }

    /// Keeps heading and pitch, moves the target to the box's centre and sets the
    /// distance so the whole box is in view.
    pub fn fit(&mut self, min: [f32; 3], max: [f32; 3], aspect: f32) {
        let (lo, hi) = (Vec3::from(min), Vec3::from(max));
        let centre = (lo + hi) / 2.0;
        self.target = Vec3::new(centre.x, centre.y, lo.z.max(0.0).min(hi.z));
        let half = (hi - lo) / 2.0;
        // The bounding sphere always fits; then the smallest distance that still keeps
        // the box's eight corners in view (5% margin), by bisection.
        let radius = half.length().max(1.0);
        let half_fov = (self.fovy / 2.0).min((aspect.max(1e-3) * (self.fovy / 2.0).tan()).atan());
        let outer = radius / half_fov.sin();
        let fits = |cam: &OrbitCamera| {
            let vp = cam.view_proj(aspect);
            (0..8).all(|i| {
                let c = Vec3::new(
                    if i & 1 == 0 { lo.x } else { hi.x },
                    if i & 2 == 0 { lo.y } else { hi.y },
                    if i & 4 == 0 { lo.z } else { hi.z },
                );
                let clip = vp * c.extend(1.0);
                clip.w > 0.0 && (clip.x / clip.w).abs() <= 0.95 && (clip.y / clip.w).abs() <= 0.95
            })
        };
        let (mut inside, mut outside) = (outer, 0.0f32);
        for _ in 0..24 {
            let mid = (inside + outside) / 2.0;
            let probe = OrbitCamera {
                distance: mid,
                ..*self
            };
            if fits(&probe) {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        self.distance = inside.max(1.0);
    }

    /// Rotates around the target: `d_heading` clockwise, `d_pitch` downwards (radians).
    pub fn orbit(&mut self, d_heading: f32, d_pitch: f32) {
        self.heading = (self.heading + d_heading).rem_euclid(std::f32::consts::TAU);
        self.pitch = (self.pitch + d_pitch).clamp(PITCH_RANGE.0, PITCH_RANGE.1);
    }

    /// Moves the target along the ground by a screen-space drag of `dx`, `dy` pixels in a
    /// viewport `height` pixels tall (the ground under the cursor follows it).
    pub fn pan(&mut self, dx: f32, dy: f32, height: f32) {
        let metres_per_px = 2.0 * self.distance * (self.fovy / 2.0).tan() / height.max(1.0);
        let (s, c) = self.heading.sin_cos();
        let right = Vec3::new(c, -s, 0.0);
        let forward = Vec3::new(s, c, 0.0);
        let pitch_stretch = 1.0 / self.pitch.sin().max(0.2);
        self.target += (-dx * right + dy * pitch_stretch * forward) * metres_per_px;
    }

    /// Zooms by a factor (> 1 moves closer), keeping the distance between 5 m and 500 km.
    pub fn zoom(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.distance = (self.distance / factor).clamp(5.0, 500_000.0);
        }
    }

    /// The eye position.
    pub fn eye(&self) -> Vec3 {
        let (sh, ch) = self.heading.sin_cos();
        // Straight down (or past it) would make the up vector parallel to the view.
        let (sp, cp) = self.pitch.clamp(PITCH_RANGE.0, PITCH_RANGE.1).sin_cos();
        // Looking along (sin h · cos p, cos h · cos p, −sin p); the eye is behind that.
        self.target - self.distance * Vec3::new(sh * cp, ch * cp, -sp)
    }

    /// The view matrix (world → camera).
    pub fn view(&self) -> Mat4 {
        Mat4::look_at_rh(self.eye(), self.target, Vec3::Z)
    }

    /// The projection for a viewport aspect ratio (width / height).
    pub fn projection(&self, aspect: f32) -> Mat4 {
        let near = (self.distance * 1e-3).max(0.05);
        Mat4::perspective_infinite_reverse_rh(self.fovy, aspect.max(1e-3), near)
    }

    /// View and projection together.
    pub fn view_proj(&self, aspect: f32) -> Mat4 {
        self.projection(aspect) * self.view()
    }

    /// The point at height `z` (local frame) under pixel (x, y) of a `width` × `height`
    /// viewport, or `None` when the ray through the pixel never reaches that height.
    pub fn ground_point(
        &self,
        x: f32,
        y: f32,
        width: u32,
        height: u32,
        z: f32,
    ) -> Option<[f32; 3]> {
        let aspect = width as f32 / height.max(1) as f32;
        let ndc_x = 2.0 * x / width.max(1) as f32 - 1.0;
        let ndc_y = 1.0 - 2.0 * y / height.max(1) as f32;
        // The ray from the eye through the pixel, built from the camera's axes (more
        // precise in f32 than inverting the view-projection matrix).
        let eye = self.eye();
        let forward = (self.target - eye).normalize();
        let right = forward.cross(Vec3::Z).normalize();
        let up = right.cross(forward);
        let tan = (self.fovy / 2.0).tan();
        let dir = forward + right * (ndc_x * tan * aspect) + up * (ndc_y * tan);
        if dir.z.abs() < 1e-9 {
            return None;
        }
        let (a, t) = (eye, (z - eye.z) / dir.z);
        (t > 0.0).then(|| (a + dir * t).to_array())
    }

    /// The pixel (x right, y down, from the top-left corner) where a local-frame point
    /// appears in a `width` × `height` viewport, or `None` behind the camera.
    pub fn project(&self, p: [f32; 3], width: u32, height: u32) -> Option<[f32; 2]> {
        let clip = self.view_proj(width as f32 / height as f32) * Vec4::new(p[0], p[1], p[2], 1.0);
        if clip.w <= 0.0 {
            return None;
        }
        let ndc = clip.truncate() / clip.w;
        Some([
            (ndc.x + 1.0) / 2.0 * width as f32,
            (1.0 - ndc.y) / 2.0 * height as f32,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_down_puts_the_box_centre_in_the_middle() {
        let cam = OrbitCamera::top_down([-100.0, -50.0, 0.0], [300.0, 150.0, 0.0], 1.0);
        let p = cam.project([100.0, 50.0, 0.0], 200, 200).unwrap();
        assert!(
            (p[0] - 100.0).abs() < 0.01 && (p[1] - 100.0).abs() < 0.01,
            "{p:?}"
        );
        // North is up, east is right.
        let n = cam.project([100.0, 100.0, 0.0], 200, 200).unwrap();
        let e = cam.project([150.0, 50.0, 0.0], 200, 200).unwrap();
        assert!(n[1] < 100.0 && (n[0] - 100.0).abs() < 0.01);
        assert!(e[0] > 100.0 && (e[1] - 100.0).abs() < 0.01);
        // Every corner of the box is inside the viewport.
        for c in [
            [-100.0, -50.0],
            [300.0, -50.0],
            [300.0, 150.0],
            [-100.0, 150.0],
        ] {
            let q = cam.project([c[0], c[1], 0.0], 200, 200).unwrap();
            assert!(
                (0.0..=200.0).contains(&q[0]) && (0.0..=200.0).contains(&q[1]),
                "{q:?}"
            );
        }
    }

    #[test]
    fn ground_point_inverts_project() {
        let mut cam = OrbitCamera::top_down([0.0; 3], [1000.0, 1000.0, 0.0], 1.5);
        cam.orbit(0.7, -0.6);
        for p in [
            [500.0f32, 500.0, 0.0],
            [320.0, 610.0, 0.0],
            [700.0, 200.0, 25.0],
        ] {
            let q = cam.project(p, 600, 400).unwrap();
            let g = cam.ground_point(q[0], q[1], 600, 400, p[2]).unwrap();
            assert!(
                (g[0] - p[0]).abs() < 0.05 && (g[1] - p[1]).abs() < 0.05,
                "{p:?} -> {g:?}"
            );
        }
        // Above the horizon there is no ground.
        let flat = OrbitCamera {
            pitch: 0.06,
            ..OrbitCamera::default()
        };
        assert!(flat.ground_point(300.0, 0.0, 600, 400, 0.0).is_none());
    }

    #[test]
    fn pan_moves_the_ground_with_the_cursor() {
        let mut cam = OrbitCamera::top_down([0.0; 3], [1000.0, 1000.0, 0.0], 1.0);
        let before = cam.project([500.0, 500.0, 0.0], 400, 400).unwrap();
        cam.pan(40.0, 0.0, 400.0);
        let after = cam.project([500.0, 500.0, 0.0], 400, 400).unwrap();
        assert!(
            (after[0] - before[0] - 40.0).abs() < 0.5,
            "{before:?} {after:?}"
        );
    }

    #[test]
    fn a_pitch_of_exactly_straight_down_still_projects() {
        let cam = OrbitCamera {
            pitch: std::f32::consts::FRAC_PI_2,
            distance: 100.0,
            ..OrbitCamera::default()
        };
        let p = cam.project([0.0, 0.0, 0.0], 100, 100).unwrap();
        assert!(
            (p[0] - 50.0).abs() < 0.01 && (p[1] - 50.0).abs() < 0.01,
            "{p:?}"
        );
    }

    #[test]
    fn orbit_and_zoom_stay_in_range() {
        let mut cam = OrbitCamera::default();
        cam.orbit(7.0, 10.0);
        assert!(cam.pitch < std::f32::consts::FRAC_PI_2);
        assert!((0.0..std::f32::consts::TAU).contains(&cam.heading));
        cam.zoom(1e9);
        assert_eq!(cam.distance, 5.0);
        cam.zoom(f32::NAN);
        assert_eq!(cam.distance, 5.0);
        // The eye stays `distance` away from the target.
        assert!(((cam.eye() - cam.target).length() - 5.0).abs() < 1e-3);
    }
}
