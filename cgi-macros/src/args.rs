//! The attribute's arguments: `#[cgi::main(crate = "path", max_body = N)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, Meta, Token};

/// The arguments, checked.
pub(crate) struct Args {
    /// Where the runtime is: `::cgi` unless the dependency was renamed.
    pub(crate) crate_path: syn::Path,
    /// The body limit in bytes, as the user wrote it (any constant `u64` expression).
    pub(crate) max_body: Option<Expr>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            crate_path: syn::parse_quote!(::cgi),
            max_body: None,
        }
    }
}

const EXPECTED: &str = "expected one of: `crate`, `max_body`";

impl Args {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = Args::default();
        let mut crate_set = false;
        for meta in metas {
            let Meta::NameValue(pair) = meta else {
                let path = meta.path();
                return Err(syn::Error::new_spanned(
                    path,
                    format!(
                        "unknown argument `{}`; {EXPECTED}, as `key = value`",
                        path_text(path)
                    ),
                ));
            };
            match path_text(&pair.path).as_str() {
                // #[cgi::main(crate = "my_cgi")]
                "crate" => {
                    if std::mem::replace(&mut crate_set, true) {
                        return Err(syn::Error::new_spanned(&pair.path, "`crate` is set twice"));
                    }
                    args.crate_path = match &pair.value {
                        Expr::Lit(literal) => match &literal.lit {
                            Lit::Str(text) => text.parse().map_err(|_| {
                                syn::Error::new_spanned(
                                    text,
                                    "`crate` must be a path, such as `crate = \"cgikit\"`",
                                )
                            })?,
                            other => return Err(crate_not_a_string(other)),
                        },
                        other => return Err(crate_not_a_string(other)),
                    };
                }
                // #[cgi::main(max_body = 10 * 1024 * 1024)]
                "max_body" => {
                    if args.max_body.replace(pair.value).is_some() {
                        return Err(syn::Error::new_spanned(
                            &pair.path,
                            "`max_body` is set twice",
                        ));
                    }
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        &pair.path,
                        format!("unknown argument `{other}`; {EXPECTED}"),
                    ));
                }
            }
        }
        Ok(args)
    }
}

fn crate_not_a_string(value: impl quote::ToTokens) -> syn::Error {
    syn::Error::new_spanned(value, "`crate` takes a string: `crate = \"cgikit\"`")
}

fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    segments.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tokens::assert_same;
    use quote::quote;

    #[test]
    fn empty_means_defaults() {
        let args = Args::parse(quote!()).unwrap();
        let path = args.crate_path;
        assert_same(&quote!(#path), &quote!(::cgi));
        assert!(args.max_body.is_none());
    }

    #[test]
    fn both_keys() {
        let args = Args::parse(quote!(crate = "my::cgi", max_body = 1024 * 1024)).unwrap();
        let path = args.crate_path;
        assert_same(&quote!(#path), &quote!(my::cgi));
        let limit = args.max_body.unwrap();
        assert_same(&quote!(#limit), &quote!(1024 * 1024));
    }

    #[test]
    fn mistakes_are_explained() {
        let message = |tokens| {
            Args::parse(tokens)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            message(quote!(max_bdy = 5)),
            "unknown argument `max_bdy`; expected one of: `crate`, `max_body`"
        );
        assert!(message(quote!(verbose)).starts_with("unknown argument `verbose`"));
        assert_eq!(
            message(quote!(max_body = 1, max_body = 2)),
            "`max_body` is set twice"
        );
        assert_eq!(
            message(quote!(crate = cgi)),
            "`crate` takes a string: `crate = \"cgikit\"`"
        );
        assert!(message(quote!(crate = "not a path")).starts_with("`crate` must be a path"));
    }
}
