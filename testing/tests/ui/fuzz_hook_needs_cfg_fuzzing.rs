// The FastCGI hook of the fuzz target (fuzz/fuzz_targets/fastcgi_records.rs) is built only
// by cargo-fuzz, which passes `--cfg fuzzing`: no script can reach it.
fn main() {
    let _hook = cgi::__private::fastcgi_conversation;
}
