#![doc = "placeholder"]
pub use cgi_macros::main;
pub use cgi_runtime::*;
