fn main() {
    let _ = opsdeck::fleet::Fleet::builtin();
}
