//! Regenerate the README screenshots from the real render code:
//! `cargo run --example screenshots` writes screenshots/*.svg (and a .txt of each screen).
//! The fleet is simulated with a fixed seed and clock, so the pictures only change when the
//! console does; `tests/screenshots.rs` fails when the committed ones are out of date.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for shot in opsdeck::gallery::gallery() {
        let (name, buf) = (&shot.name, &shot.buffer);
        std::fs::write(
            dir.join(format!("{name}.svg")),
            opsdeck::ui::export::buffer_to_svg(buf, shot.background),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{name}.txt")),
            opsdeck::ui::export::buffer_to_text(buf),
        )
        .unwrap();
        println!("wrote {}/{name}.svg", dir.display());
    }
}
