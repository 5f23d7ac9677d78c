//! A warning for `fn greet(name: String)`.
//!
//! A `String` argument is the request body as text, which is legal and sometimes wanted;
//! but a student who writes `name: String` means the query string's `name`, and gets an
//! empty string (`/?name=Ada` answers `Hello, !`) or the raw body (`name=Ada`). So a
//! `String` or `Option<String>` argument whose name is not `body` or `text` (or `..._body`,
//! `..._text`) gets a warning naming `Query<T>`; naming it `body` says the body is meant.
//!
//! Stable Rust has no warnings of a macro's own; using an item marked `#[deprecated]`
//! gives one, with the item's note as its text and the use's span as its place. The type
//! is recognised by how it is written, not by the compiler: this only adds a warning,
//! which the name silences.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::{GenericArgument, PathArguments, Type};

use crate::signature::{Input, Signature};

/// One `#[deprecated]` function and a use of it, spanned on the argument's type, for each
/// `String` argument named like a field.
pub(crate) fn warnings(signature: &Signature) -> TokenStream {
    signature
        .inputs
        .iter()
        .filter_map(|input| match input {
            Input::Typed {
                name: Some(name),
                ty,
            } => Some((name, ty)),
            _ => None,
        })
        .filter(|(name, _)| !names_the_body(name))
        .filter_map(|(name, ty)| {
            let (written, string) = string_type(ty)?;
            let field = name.to_string().trim_start_matches("r#").to_owned();
            let note = format!(
                "`{field}: {written}` receives the request body as text, not `?{field}=...` from the URL \
                 (for `/?{field}=Ada` it is empty). To read `{field}` from the query string, take \
                 `Query<T>` with a `#[derive(serde::Deserialize)]` struct that has a `{field}` field \
                 (`Form<T>` for a submitted form). To read the body, call the argument `body` or `text`."
            );
            // Unique, as argument names are.
            let function = format_ident!("{field}_is_the_request_body");
            let function_use = Ident::new(&function.to_string(), string.span());
            Some(quote! {
                #[deprecated(note = #note)]
                #[doc(hidden)]
                #[allow(non_snake_case)]
                const fn #function() {}
                const _: () = #function_use();
            })
        })
        .collect()
}

/// `body`, `text`, `raw_body`, `_text`...: the body, on purpose.
fn names_the_body(name: &Ident) -> bool {
    let name = name.to_string();
    let name = name.trim_start_matches("r#").trim_start_matches('_');
    name == "body" || name == "text" || name.ends_with("_body") || name.ends_with("_text")
}

/// `String` or `Option<String>` (under any path), as it should be written in the warning,
/// with the `String` identifier whose span the warning gets.
fn string_type(ty: &Type) -> Option<(&'static str, &Ident)> {
    let segment = last_segment(ty)?;
    if segment.ident == "String" && segment.arguments.is_none() {
        return Some(("String", &segment.ident));
    }
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match (segment.ident == "Option", arguments.args.first()) {
        (true, Some(GenericArgument::Type(inner))) if arguments.args.len() == 1 => {
            let inner = last_segment(inner)?;
            (inner.ident == "String" && inner.arguments.is_none())
                .then_some(("Option<String>", &inner.ident))
        }
        _ => None,
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tokens::count;

    fn warned(function: TokenStream) -> Vec<String> {
        let signature: Signature = syn::parse2(function).unwrap();
        let tokens = warnings(&signature);
        let mut names = Vec::new();
        let mut trees = tokens.into_iter().peekable();
        while let Some(tree) = trees.next() {
            if matches!(&tree, proc_macro2::TokenTree::Ident(ident) if ident == "fn")
                && let Some(proc_macro2::TokenTree::Ident(name)) = trees.next()
            {
                names.push(name.to_string());
            }
        }
        names
    }

    #[test]
    fn strings_named_like_fields_are_warned_about() {
        assert_eq!(
            warned(quote!(
                fn greet(name: String) {}
            )),
            ["name_is_the_request_body"]
        );
        assert_eq!(
            warned(quote!(
                fn greet(m: Method, mut first: std::string::String, last: Option<String>) {}
            )),
            ["first_is_the_request_body", "last_is_the_request_body"]
        );
        assert_eq!(
            warned(quote!(
                fn greet(_name: ::std::option::Option<alloc::string::String>) {}
            )),
            ["_name_is_the_request_body"]
        );
        assert_eq!(
            warned(quote!(
                fn greet(r#type: String) {}
            )),
            ["type_is_the_request_body"]
        );
    }

    #[test]
    fn the_body_named_as_such_and_other_types_are_not() {
        for function in [
            quote!(
                fn f(body: String) {}
            ),
            quote!(
                fn f(text: Option<String>) {}
            ),
            quote!(
                fn f(_raw_body: String) {}
            ),
            quote!(
                fn f(plain_text: String) {}
            ),
            quote!(
                fn f(_: String) {}
            ),
            quote!(
                fn f(name: Query<String>) {}
            ),
            quote!(
                fn f(name: Vec<u8>) {}
            ),
            quote!(
                fn f(name: Option<Vec<String>>) {}
            ),
            quote!(
                fn f(name: String<X>) {}
            ),
            quote!(
                fn f(name: &String) {}
            ),
        ] {
            assert_eq!(warned(function.clone()), Vec::<String>::new(), "{function}");
        }
    }

    #[test]
    fn the_note_names_the_argument_and_the_fix() {
        let signature: Signature = syn::parse2(quote!(
            fn greet(name: String) {}
        ))
        .unwrap();
        let tokens = warnings(&signature);
        let text = tokens.to_string();
        assert!(
            text.contains("`name: String` receives the request body as text"),
            "{text}"
        );
        assert!(text.contains("`Query<T>`"), "{text}");
        assert!(
            text.contains("call the argument `body` or `text`"),
            "{text}"
        );
        assert_eq!(
            count(&tokens, &quote!(#[deprecated])),
            0,
            "with its note: {text}"
        );
        assert_eq!(
            count(
                &tokens,
                &quote!(
                    const _: () = name_is_the_request_body();
                )
            ),
            1,
            "{text}"
        );
    }
}
