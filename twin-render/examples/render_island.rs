//! Renders the bundled island to a PNG: `cargo run --release -p twin-render --example render_island -- OUT.png [WIDTH HEIGHT]`.

use std::path::PathBuf;

use twin_render::{Headless, OrbitCamera, Scene};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "island.png".into()));
    let w: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1280);
    let h: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(800);
    let t = std::time::Instant::now();
    let twin = twin_chongming::island::bundled()?;
    println!("twin: {} assets in {:.2?}", twin.len(), t.elapsed());
    let t = std::time::Instant::now();
    let scene = Scene::build(&twin);
    println!(
        "scene: {} triangles, {} markers in {:.2?}",
        scene.triangles(),
        scene.markers.len(),
        t.elapsed()
    );
    let mut hl = Headless::with_scene(w, h, &scene)?;
    println!("adapter: {:?}", hl.adapter().name);
    let (lo, hi) = scene.bounds.ok_or("empty scene")?;
    let cam = OrbitCamera::top_down(lo, hi, w as f32 / h as f32);
    let t = std::time::Instant::now();
    let (img, stats) = hl.render(&cam)?;
    println!("frame: {stats:?} in {:.2?}", t.elapsed());
    img.save_png(&out)?;
    println!("wrote {}", out.display());
    // A tilted close-up of Chengqiao, the district seat.
    if let Some(town) = twin.handle("CM-TOWN-CHENGQIAO") {
        let _ = town;
        let seat = twin.handle("CM-BLD-000001").ok_or("no building")?;
        let b = twin_render::scene::asset_bounds(&twin, seat).ok_or("no bbox")?;
        let mut cam = OrbitCamera {
            pitch: 45f32.to_radians(),
            heading: 20f32.to_radians(),
            ..OrbitCamera::default()
        };
        let c = [(b.0[0] + b.1[0]) / 2.0, (b.0[1] + b.1[1]) / 2.0, 0.0];
        cam.fit(
            [c[0] - 400.0, c[1] - 400.0, 0.0],
            [c[0] + 400.0, c[1] + 400.0, 30.0],
            w as f32 / h as f32,
        );
        let (img, stats) = hl.render(&cam)?;
        let out2 = out.with_extension("town.png");
        img.save_png(&out2)?;
        println!("town view: {stats:?}, wrote {}", out2.display());
    }
    Ok(())
}
