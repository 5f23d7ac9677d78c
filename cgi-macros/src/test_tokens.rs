//! Token comparisons for the unit tests: by token, never by `to_string()`, whose spacing
//! is proc-macro2's choice and may change in any release.

use proc_macro2::{TokenStream, TokenTree};

/// Whether two streams hold the same tokens: same identifiers, punctuation, literals and
/// delimiters. Spans are ignored, and so is the spacing of punctuation, which is how a
/// printer chose to glue it (syn prints the `>>` that closes nested generics as two
/// separate `>`, `quote!` as one joint pair).
pub(crate) fn same(left: &TokenStream, right: &TokenStream) -> bool {
    let left: Vec<TokenTree> = left.clone().into_iter().collect();
    let right: Vec<TokenTree> = right.clone().into_iter().collect();
    same_trees(&left, &right)
}

fn same_trees(left: &[TokenTree], right: &[TokenTree]) -> bool {
    left.len() == right.len() && left.iter().zip(right).all(|(l, r)| same_tree(l, r))
}

fn same_tree(left: &TokenTree, right: &TokenTree) -> bool {
    match (left, right) {
        (TokenTree::Group(l), TokenTree::Group(r)) => {
            l.delimiter() == r.delimiter() && same(&l.stream(), &r.stream())
        }
        (TokenTree::Ident(l), TokenTree::Ident(r)) => l == r,
        (TokenTree::Punct(l), TokenTree::Punct(r)) => l.as_char() == r.as_char(),
        (TokenTree::Literal(l), TokenTree::Literal(r)) => l.to_string() == r.to_string(),
        _ => false,
    }
}

/// Panics, showing both, unless `actual` and `expected` hold the same tokens.
#[track_caller]
pub(crate) fn assert_same(actual: &TokenStream, expected: &TokenStream) {
    assert!(
        same(actual, expected),
        "different tokens\n  actual: {actual}\nexpected: {expected}"
    );
}

/// How many times `needle` occurs as consecutive tokens, at any depth of `haystack`.
pub(crate) fn count(haystack: &TokenStream, needle: &TokenStream) -> usize {
    let needle: Vec<TokenTree> = needle.clone().into_iter().collect();
    assert!(!needle.is_empty(), "an empty needle");
    count_in(haystack, &needle)
}

fn count_in(haystack: &TokenStream, needle: &[TokenTree]) -> usize {
    let trees: Vec<TokenTree> = haystack.clone().into_iter().collect();
    let here = trees
        .windows(needle.len())
        .filter(|window| same_trees(window, needle))
        .count();
    let inside: usize = trees
        .iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => count_in(&group.stream(), needle),
            _ => 0,
        })
        .sum();
    here + inside
}

/// Whether `haystack` begins with the tokens of `prefix`.
pub(crate) fn starts_with(haystack: &TokenStream, prefix: &TokenStream) -> bool {
    let haystack: Vec<TokenTree> = haystack.clone().into_iter().collect();
    let prefix: Vec<TokenTree> = prefix.clone().into_iter().collect();
    haystack.len() >= prefix.len() && same_trees(&haystack[..prefix.len()], &prefix)
}

/// Whether `haystack` ends with the tokens of `suffix`.
pub(crate) fn ends_with(haystack: &TokenStream, suffix: &TokenStream) -> bool {
    let haystack: Vec<TokenTree> = haystack.clone().into_iter().collect();
    let suffix: Vec<TokenTree> = suffix.clone().into_iter().collect();
    haystack.len() >= suffix.len()
        && same_trees(&haystack[haystack.len() - suffix.len()..], &suffix)
}

/// The messages of the `compile_error!`s in `tokens`, at any depth, in order.
pub(crate) fn compile_errors(tokens: &TokenStream) -> Vec<String> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut messages = Vec::new();
    for (index, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                if let (Some(TokenTree::Punct(bang)), Some(TokenTree::Group(arguments))) =
                    (trees.get(index + 1), trees.get(index + 2))
                    && bang.as_char() == '!'
                {
                    let message: syn::LitStr = syn::parse2(arguments.stream())
                        .expect("compile_error! takes one string literal");
                    messages.push(message.value());
                }
            }
            TokenTree::Group(group) => messages.extend(compile_errors(&group.stream())),
            _ => {}
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn spacing_does_not_matter() {
        let spaced: TokenStream = "fn  f ( x : a :: b < c < d > > ) { }".parse().unwrap();
        assert!(same(
            &spaced,
            &quote!(
                fn f(x: a::b<c<d>>) {}
            )
        ));
        assert!(!same(
            &spaced,
            &quote!(
                fn f(x: a::b<c<e>>) {}
            )
        ));
        assert!(!same(&quote!(a(b)), &quote!(a[b])));
        assert!(!same(&quote!(a(b)), &quote!(a(b c))));
        assert!(!same(&quote!("a"), &quote!('a')));
    }

    #[test]
    fn searches() {
        let tokens = quote!(x::y(a::b, { a::b }) a::b);
        assert_eq!(count(&tokens, &quote!(a::b)), 3);
        assert_eq!(count(&tokens, &quote!(b a)), 0);
        assert!(starts_with(&tokens, &quote!(x::y)));
        assert!(!starts_with(&tokens, &quote!(x::y::z)));
        assert!(ends_with(&tokens, &quote!(a::b)));
        assert!(!ends_with(&tokens, &quote!(x::y)));
    }

    #[test]
    fn error_messages() {
        let tokens =
            quote!(fn f() {} { ::core::compile_error! { "one \"two\"" } } compile_error!("three"););
        assert_eq!(compile_errors(&tokens), ["one \"two\"", "three"]);
    }
}
