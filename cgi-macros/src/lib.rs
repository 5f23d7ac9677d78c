use proc_macro::TokenStream; #[proc_macro_attribute] pub fn main(_a: TokenStream, i: TokenStream) -> TokenStream { i }
