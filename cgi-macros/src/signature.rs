//! Reads the annotated function's signature.
//!
//! A small parser over syn's `derive` feature instead of `syn::ItemFn`, which needs the
//! `full` feature: every script crate compiles this macro, and `full` costs it about a
//! second. The body is never parsed, only skipped as one token tree; the function itself is
//! emitted exactly as written.

use proc_macro2::{Ident, Span, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Generics, ReturnType, Token, Type, Visibility, parenthesized};

/// What the expansion needs to know about the function.
pub(crate) struct Signature {
    pub(crate) asyncness: Option<Token![async]>,
    pub(crate) unsafety: Option<Token![unsafe]>,
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) inputs: Vec<Input>,
    pub(crate) output: ReturnType,
}

/// One parameter.
pub(crate) enum Input {
    /// `self`, `&self`, `mut self: Box<Self>`, ...: the function is a method.
    Receiver(Span),
    /// `pattern: Type`; `name` is the pattern's identifier when it is one (`name`,
    /// `mut name`), not when it destructures (`Query(q)`) or ignores (`_`).
    Typed { name: Option<Ident>, ty: Box<Type> },
}

impl Parse for Signature {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        input.parse::<Option<Token![const]>>()?;
        let asyncness = input.parse()?;
        let unsafety = input.parse()?;
        input.parse::<Option<syn::Abi>>()?;
        input.parse::<Token![fn]>()?;
        let ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        let arguments;
        parenthesized!(arguments in input);
        let mut inputs = Vec::new();
        while !arguments.is_empty() {
            inputs.push(parse_input(&arguments)?);
            if !arguments.is_empty() {
                arguments.parse::<Token![,]>()?;
            }
        }
        let output = input.parse()?;
        generics.where_clause = input.parse()?;
        match input.parse::<TokenTree>()? {
            TokenTree::Group(body) if body.delimiter() == proc_macro2::Delimiter::Brace => {}
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected the function's body `{ ... }`",
                ));
            }
        }
        Ok(Signature {
            asyncness,
            unsafety,
            ident,
            generics,
            inputs,
            output,
        })
    }
}

fn parse_input(input: ParseStream<'_>) -> syn::Result<Input> {
    input.call(Attribute::parse_outer)?;
    // The pattern runs up to the first `:` that is not part of a `::` path; a struct
    // pattern's own colons are inside its braces, one token tree. Only a top-level `self`
    // makes it a receiver.
    let mut receiver = None;
    let mut pattern = Vec::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.peek(Token![::]) {
            pattern.extend(input.parse::<Token![::]>()?.into_token_stream());
        } else if input.peek(Token![:]) {
            break;
        } else {
            let token = input.parse::<TokenTree>()?;
            if let TokenTree::Ident(ident) = &token
                && ident == "self"
            {
                receiver.get_or_insert(ident.span());
            }
            pattern.push(token);
        }
    }
    let typed = input.peek(Token![:]) && !input.peek(Token![::]);
    if typed {
        input.parse::<Token![:]>()?;
    }
    match (receiver, typed) {
        (Some(receiver), typed) => {
            if typed {
                input.parse::<Type>()?;
            }
            Ok(Input::Receiver(receiver))
        }
        (None, true) => Ok(Input::Typed {
            name: pattern_name(&pattern),
            ty: Box::new(input.parse()?),
        }),
        (None, false) => Err(syn::Error::new(
            input.span(),
            "expected `: Type` after the argument's pattern",
        )),
    }
}

/// The identifier a pattern binds when it is just one: `name`, `mut name`.
fn pattern_name(pattern: &[TokenTree]) -> Option<Ident> {
    let ident = match pattern {
        [TokenTree::Ident(ident)] => ident,
        [TokenTree::Ident(mutability), TokenTree::Ident(ident)] if mutability == "mut" => ident,
        _ => return None,
    };
    (ident != "_").then(|| ident.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tokens::same;
    use proc_macro2::TokenStream;
    use quote::quote;

    /// Panics unless the arguments are `expected`: their types, `self` for a receiver.
    #[track_caller]
    fn assert_types(signature: &Signature, expected: &[TokenStream]) {
        let types: Vec<TokenStream> = signature
            .inputs
            .iter()
            .map(|input| match input {
                Input::Typed { ty, .. } => ty.to_token_stream(),
                Input::Receiver(_) => quote!(self),
            })
            .collect();
        assert!(
            types.len() == expected.len()
                && types
                    .iter()
                    .zip(expected)
                    .all(|(ty, expected)| same(ty, expected)),
            "types {types:?}, expected {expected:?}"
        );
    }

    #[test]
    fn patterns_and_types() {
        let signature: Signature = syn::parse2(quote! {
            #[doc = "x"]
            pub fn search(
                cgi::Query(Search { q, page: _ }): cgi::Query<Search>,
                #[allow(unused)] mut jar: Cookies,
                (a, b): (u8, u8),
                _: std::collections::HashMap<String, Vec<u8>>,
            ) -> Result<Html<String>, (StatusCode, &'static str)> where Search: Clone { body(); }
        })
        .unwrap();
        assert_eq!(signature.ident, "search");
        assert_types(
            &signature,
            &[
                quote!(cgi::Query<Search>),
                quote!(Cookies),
                quote!((u8, u8)),
                quote!(std::collections::HashMap<String, Vec<u8>>),
            ],
        );
        assert!(signature.asyncness.is_none() && signature.unsafety.is_none());
        assert!(signature.generics.where_clause.is_some());
        assert!(matches!(signature.output, ReturnType::Type(..)));
    }

    #[test]
    fn names_of_plain_patterns() {
        let signature: Signature = syn::parse2(quote! {
            fn handler(
                name: String,
                mut text: String,
                _: String,
                Query(q): Query<Q>,
                cgi::Query(q): Query<Q>,
                (a, b): (A, B),
                r#type: String,
                ref by_ref: String,
            ) {}
        })
        .unwrap();
        let names: Vec<Option<String>> = signature
            .inputs
            .iter()
            .map(|input| match input {
                Input::Typed { name, .. } => name.as_ref().map(Ident::to_string),
                Input::Receiver(_) => None,
            })
            .collect();
        assert_eq!(
            names,
            [
                Some("name".to_owned()),
                Some("text".to_owned()),
                None,
                None,
                None,
                None,
                Some("r#type".to_owned()),
                None,
            ]
        );
    }

    #[test]
    fn receivers_are_recognised() {
        for receiver in [
            quote!(self),
            quote!(&self),
            quote!(&'a mut self),
            quote!(mut self),
            quote!(self: Box<Self>),
        ] {
            let signature: Signature =
                syn::parse2(quote!(fn handler(#receiver, q: Query<X>) {})).unwrap();
            assert_types(&signature, &[quote!(self), quote!(Query<X>)]);
        }
    }

    #[test]
    fn qualifiers_and_generics_are_kept_for_checking() {
        let signature: Signature = syn::parse2(quote!(
            async unsafe fn handler<T: Clone>() {}
        ))
        .unwrap();
        assert!(signature.asyncness.is_some() && signature.unsafety.is_some());
        assert_eq!(signature.generics.params.len(), 1);
    }

    #[test]
    fn not_a_function() {
        assert!(
            syn::parse2::<Signature>(quote!(
                struct Handler;
            ))
            .is_err()
        );
        assert!(syn::parse2::<Signature>(quote!(fn handler(x) {})).is_err());
    }
}
