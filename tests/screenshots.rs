//! The README screenshots are the console as it draws today: regenerate them with
//! `cargo run --example screenshots` when this fails.

#[test]
fn committed_screenshots_match_the_render_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    for shot in opsdeck::gallery::gallery() {
        let (name, buf) = (&shot.name, &shot.buffer);
        let text = opsdeck::ui::export::buffer_to_text(buf);
        let svg = opsdeck::ui::export::buffer_to_svg(buf, shot.background);
        let committed_txt =
            std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap_or_default();
        let committed_svg =
            std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap_or_default();
        assert!(
            committed_txt == text && committed_svg == svg,
            "screenshots/{name} is stale: run `cargo run --example screenshots`"
        );
    }
}
