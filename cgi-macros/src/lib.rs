//! The `#[cgi::main]` attribute. Use it through the `cgikit` crate, as `#[cgi::main]`;
//! its documentation is there.

mod args;
mod expand;
mod signature;
mod string_argument;
#[cfg(test)]
mod test_tokens;

use proc_macro::TokenStream;

/// Turns a function into a complete CGI program. Documented where it is used: `cgikit`'s
/// `cgi::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}
