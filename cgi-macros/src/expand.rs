//! Builds the generated `main`.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::Args;
use crate::signature::{Input, Signature};
use crate::string_argument;

/// The attribute's whole expansion. On any error it still emits the function unchanged,
/// with the errors and a placeholder `main`, so that IDEs keep working and rustc does not
/// add "`main` function not found" to the real error.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = Args::parse(args);
    let signature = syn::parse2::<Signature>(item.clone());
    let checked = match (args, signature) {
        (Ok(args), Ok(signature)) => check(&signature).map(|()| (args, signature)),
        (Err(mut error), Ok(signature)) => {
            if let Err(more) = check(&signature) {
                error.combine(more);
            }
            Err(error)
        }
        (Ok(_), Err(error)) => Err(error),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            Err(error)
        }
    };
    match checked {
        Ok((args, signature)) => generate(&args, &signature, &item),
        Err(error) => fallback(&item, &error),
    }
}

/// What the signature must not be, every problem reported at once.
fn check(signature: &Signature) -> syn::Result<()> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if let Some(unsafety) = &signature.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "a `#[cgi::main]` function cannot be `unsafe`",
        ));
    }
    if !signature.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &signature.generics.params,
            "a `#[cgi::main]` function cannot be generic: the generated `main` calls one concrete function; \
             use concrete types",
        ));
    }
    for input in &signature.inputs {
        if let Input::Receiver(span) = input {
            errors.push(syn::Error::new(
                *span,
                "`#[cgi::main]` goes on a free function, not a method: remove `self` \
                 (call the method from a free function if you need one)",
            ));
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|error| first.combine(error));
            Err(first)
        }
    }
}

// Input:
//
//     #[cgi::main(max_body = 4096)]
//     fn search(Query(s): Query<Search>, Form(f): Form<Filter>) -> Html<String> { ... }
//
// Output:
//
//     fn search(Query(s): Query<Search>, Form(f): Form<Filter>) -> Html<String> { ... }
//
//     mod __cgi_main {
//         pub(super) struct GeneratedMain;
//         pub(super) fn main() -> GeneratedMain {
//             GeneratedMain::run()
//         }
//     }
//     impl __cgi_main::GeneratedMain {
//         fn run() -> Self {
//             ::cgi::__private::run(
//                 ::cgi::__private::Limits::default().max_body({ const MAX_BODY: u64 = 4096; MAX_BODY }),
//                 |__cgi_request: ::cgi::__private::Request| -> ::cgi::__private::Response {
//                     use ::cgi::__private::Fallback as _;
//                     let __cgi_last_kind = ::cgi::__private::Probe::<Form<Filter>>::NEW
//                         .check_fields::<Form<Filter>>()
//                         .kind();
//                     let __cgi_arg0 = match ::cgi::__private::Probe::<Query<Search>>::NEW
//                         .check_fields::<Query<Search>>()
//                         .kind()
//                         .from_request_parts::<Query<Search>, Form<Filter>, _>(&__cgi_request, __cgi_last_kind)
//                     {
//                         Ok(value) => value,
//                         Err(rejection) => return rejection,
//                     };
//                     let __cgi_arg1 = match __cgi_last_kind.from_request::<Form<Filter>>(__cgi_request) { ... };
//                     let __cgi_response = search(__cgi_arg0, __cgi_arg1);
//                     ::cgi::__private::IntoResponse::into_response(__cgi_response)
//                 },
//             );
//             Self
//         }
//     }
//     impl ::std::process::Termination for __cgi_main::GeneratedMain { ... }
//     impl ::cgi::__private::WrittenByCgiMain for __cgi_main::GeneratedMain {}
//     use __cgi_main::*;
//     const _: () = ::cgi::__private::only_the_generated_main(main);
//
// Every path into the runtime goes through its hidden `__private` module, so the public
// items can move without breaking the expansion. Each extraction and the final conversion
// are spanned on the argument's or the return type, so a type that is not an extractor
// (or not a response) gets exactly one error, pointing at it. The macro does not judge the
// types itself: `Probe` and `Kind` (in the runtime's `macro_support`) let the traits decide,
// and say why they refuse. The last argument's kind is computed first because the checks
// of the arguments before it depend on whether it reads the body.
//
// `main` is glob-imported from a module of its own: a `fn main` of the user's shadows it
// instead of clashing with it, and `only_the_generated_main`, which accepts only a `main`
// that returns the module's `GeneratedMain`, then explains the problem. The module holds no
// user code: its `main` calls an associated function of `GeneratedMain` whose impl stays
// beside the handler, where the user's names resolve as in the handler. That works even in
// a function body (doc tests wrap their code in one), where a module cannot name the
// items around it; and a `use super::*` would make rustc print every name it brings in
// with its full path (`cgi::Query<T>`) in all errors. A function named `main` is nested
// inside the generated one.
// An `async fn`'s call is wrapped:
// `let __cgi_response = ::cgi::__private::block_on(search(__cgi_arg0, __cgi_arg1));`.
fn generate(args: &Args, signature: &Signature, item: &TokenStream) -> TokenStream {
    let cgi = &args.crate_path;
    let request = Ident::new("__cgi_request", Span::call_site());
    let last_kind = Ident::new("__cgi_last_kind", Span::call_site());
    let limits = match &args.max_body {
        Some(max_body) => quote_spanned! {max_body.span()=>
            #cgi::__private::Limits::default().max_body({ const MAX_BODY: u64 = #max_body; MAX_BODY })
        },
        None => quote!(#cgi::__private::Limits::default()),
    };
    let types: Vec<&syn::Type> = signature
        .inputs
        .iter()
        .filter_map(|input| match input {
            Input::Typed { ty, .. } => Some(&**ty),
            Input::Receiver(_) => None,
        })
        .collect();
    let arguments: Vec<Ident> = (0..types.len())
        .map(|index| format_ident!("__cgi_arg{}", index))
        .collect();
    let probe = |ty: &syn::Type| quote!(#cgi::__private::Probe::<#ty>::NEW.check_fields::<#ty>());
    // With no arguments the request is dropped here, which drains any body it carried.
    let prelude = match types.last() {
        None => quote!(::core::mem::drop(#request);),
        Some(last) => {
            let last_probe = probe(last);
            quote! {
                use #cgi::__private::Fallback as _;
                let #last_kind = #last_probe.kind();
            }
        }
    };
    let extractions = types
        .iter()
        .zip(&arguments)
        .enumerate()
        .map(|(position, (ty, argument))| {
            let extraction = match types.last() {
                Some(last) if position + 1 < types.len() => {
                    let probe = probe(ty);
                    quote_spanned! {ty.span()=>
                        #probe.kind().from_request_parts::<#ty, #last, _>(&#request, #last_kind)
                    }
                }
                _ => quote_spanned! {ty.span()=> #last_kind.from_request::<#ty>(#request) },
            };
            quote! {
                let #argument = match #extraction {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(rejection) => return rejection,
                };
            }
        });
    let ident = &signature.ident;
    let output_span = match &signature.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => ident.span(),
    };
    // The value gets a name spanned on the return type, so that a type that is not a
    // response is reported there, not on the whole call.
    let value = Ident::new("__cgi_response", output_span);
    let respond =
        quote_spanned! {output_span=> #cgi::__private::IntoResponse::into_response(#value) };
    // An `async fn` is awaited on the runtime's tokio runtime; without the `tokio` feature
    // `block_on`'s bound fails, with a message that names the feature, at `async`.
    let call = match &signature.asyncness {
        Some(asyncness) => {
            let block_on = quote_spanned! {asyncness.span=> #cgi::__private::block_on };
            quote!(#block_on(#ident(#(#arguments),*)))
        }
        None => quote!(#ident(#(#arguments),*)),
    };
    let run = quote! {
        #cgi::__private::run(#limits, |#request: #cgi::__private::Request| -> #cgi::__private::Response {
            #prelude
            #(#extractions)*
            let #value = #call;
            #respond
        });
    };
    let (outside, inside) = if ident == "main" {
        (None, Some(item))
    } else {
        (Some(item), None)
    };
    let warnings = string_argument::warnings(signature);
    quote! {
        #outside
        #warnings
        #[doc(hidden)]
        mod __cgi_main {
            pub(super) struct GeneratedMain;
            #[allow(dead_code)]
            pub(super) fn main() -> GeneratedMain {
                GeneratedMain::run()
            }
        }
        impl __cgi_main::GeneratedMain {
            fn run() -> Self {
                #inside
                #run
                Self
            }
        }
        impl ::std::process::Termination for __cgi_main::GeneratedMain {
            fn report(self) -> ::std::process::ExitCode {
                ::std::process::ExitCode::SUCCESS
            }
        }
        impl #cgi::__private::WrittenByCgiMain for __cgi_main::GeneratedMain {}
        #[allow(unused_imports)]
        use __cgi_main::*;
        const _: () = #cgi::__private::only_the_generated_main(main);
    }
}

fn fallback(item: &TokenStream, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let placeholder_main = (!defines_main(item)).then(|| {
        quote!(
            fn main() {}
        )
    });
    quote! {
        #item
        #errors
        #placeholder_main
    }
}

/// Whether the item is itself a function named `main` (then a placeholder would clash).
fn defines_main(item: &TokenStream) -> bool {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        if matches!(&token, TokenTree::Ident(ident) if ident == "fn") {
            return matches!(tokens.next(), Some(TokenTree::Ident(ident)) if ident == "main");
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tokens::{assert_same, compile_errors, count, ends_with, starts_with};

    #[test]
    fn keeps_the_function_and_adds_main() {
        let out = main(
            quote!(),
            quote!(
                fn hello() -> &'static str {
                    "hi"
                }
            ),
        );
        assert_same(
            &out,
            &quote! {
                fn hello() -> &'static str {
                    "hi"
                }
                #[doc(hidden)]
                mod __cgi_main {
                    pub(super) struct GeneratedMain;
                    #[allow(dead_code)]
                    pub(super) fn main() -> GeneratedMain {
                        GeneratedMain::run()
                    }
                }
                impl __cgi_main::GeneratedMain {
                    fn run() -> Self {
                        ::cgi::__private::run(
                            ::cgi::__private::Limits::default(),
                            |__cgi_request: ::cgi::__private::Request| -> ::cgi::__private::Response {
                                ::core::mem::drop(__cgi_request);
                                let __cgi_response = hello();
                                ::cgi::__private::IntoResponse::into_response(__cgi_response)
                            }
                        );
                        Self
                    }
                }
                impl ::std::process::Termination for __cgi_main::GeneratedMain {
                    fn report(self) -> ::std::process::ExitCode {
                        ::std::process::ExitCode::SUCCESS
                    }
                }
                impl ::cgi::__private::WrittenByCgiMain for __cgi_main::GeneratedMain {}
                #[allow(unused_imports)]
                use __cgi_main::*;
                const _: () = ::cgi::__private::only_the_generated_main(main);
            },
        );
    }

    #[test]
    fn only_the_last_argument_may_take_the_request() {
        let out = main(
            quote!(),
            quote!(
                fn f(q: Query<A>, c: Cookies, f: Form<B>) {}
            ),
        );
        assert!(
            starts_with(
                &out,
                &quote!(
                    fn f(q: Query<A>, c: Cookies, f: Form<B>) {}
                )
            ),
            "{out}"
        );
        let closure_body = quote! {
            use ::cgi::__private::Fallback as _;
            let __cgi_last_kind = ::cgi::__private::Probe::<Form<B>>::NEW.check_fields::<Form<B>>().kind();
            let __cgi_arg0 = match ::cgi::__private::Probe::<Query<A>>::NEW
                .check_fields::<Query<A>>()
                .kind()
                .from_request_parts::<Query<A>, Form<B>, _>(&__cgi_request, __cgi_last_kind)
            {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(rejection) => return rejection,
            };
            let __cgi_arg1 = match ::cgi::__private::Probe::<Cookies>::NEW
                .check_fields::<Cookies>()
                .kind()
                .from_request_parts::<Cookies, Form<B>, _>(&__cgi_request, __cgi_last_kind)
            {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(rejection) => return rejection,
            };
            let __cgi_arg2 = match __cgi_last_kind.from_request::<Form<B>>(__cgi_request) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(rejection) => return rejection,
            };
            let __cgi_response = f(__cgi_arg0, __cgi_arg1, __cgi_arg2);
            ::cgi::__private::IntoResponse::into_response(__cgi_response)
        };
        assert_eq!(count(&out, &closure_body), 1, "{out}");
    }

    #[test]
    fn body_extractors_are_left_to_the_traits_whatever_their_names() {
        // A type called `Request` (maybe the user's own) or `Form` before the last argument
        // is no error of the macro's: `from_request_parts` decides by the traits.
        for first in [quote!(Request), quote!(Form<A>), quote!(Vec<u8>)] {
            let out = main(quote!(), quote!(fn f(a: #first, m: Method) {}));
            assert_eq!(compile_errors(&out), Vec::<String>::new(), "{first}");
            assert_eq!(
                count(
                    &out,
                    &quote!(.from_request_parts::<#first, Method, _>(&__cgi_request, __cgi_last_kind))
                ),
                1,
                "{first}"
            );
        }
    }

    #[test]
    fn a_string_named_like_a_field_gets_its_warning() {
        let out = main(
            quote!(),
            quote!(
                fn greet(name: String) -> String {
                    name
                }
            ),
        );
        assert_eq!(
            count(
                &out,
                &quote!(
                    const _: () = name_is_the_request_body();
                )
            ),
            1,
            "{out}"
        );
        let out = main(
            quote!(),
            quote!(
                fn echo(body: String) -> String {
                    body
                }
            ),
        );
        assert_eq!(count(&out, &quote!(deprecated)), 0, "{out}");
    }

    #[test]
    fn crate_and_max_body_are_used() {
        let out = main(
            quote!(crate = "my_cgi", max_body = 16 * 1024),
            quote!(
                fn f() {}
            ),
        );
        let run = quote! {
            my_cgi::__private::run(
                my_cgi::__private::Limits::default().max_body({ const MAX_BODY: u64 = 16 * 1024; MAX_BODY }),
                |__cgi_request: my_cgi::__private::Request| -> my_cgi::__private::Response {
                    ::core::mem::drop(__cgi_request);
                    let __cgi_response = f();
                    my_cgi::__private::IntoResponse::into_response(__cgi_response)
                }
            );
            Self
        };
        assert_eq!(count(&out, &run), 1, "{out}");
        assert_eq!(
            count(
                &out,
                &quote!(
                    const _: () = my_cgi::__private::only_the_generated_main(main);
                )
            ),
            1,
            "{out}"
        );
    }

    #[test]
    fn the_expansion_names_only_private_items_of_the_runtime() {
        let out = main(
            quote!(crate = "some::runtime", max_body = 1),
            quote!(
                fn f(a: A, b: B) -> C {
                    todo()
                }
            ),
        );
        let mentions = count(&out, &quote!(some::runtime));
        assert!(mentions >= 10, "{out}");
        assert_eq!(
            count(&out, &quote!(some::runtime::__private::)),
            mentions,
            "every path into the runtime goes through `__private`: {out}"
        );
    }

    #[test]
    fn an_async_fn_is_awaited_on_the_runtime() {
        let out = main(
            quote!(),
            quote!(
                async fn fetch(q: Query<A>) -> String {
                    work().await
                }
            ),
        );
        assert_eq!(compile_errors(&out), Vec::<String>::new(), "{out}");
        assert_eq!(
            count(
                &out,
                &quote!(let __cgi_response = ::cgi::__private::block_on(fetch(__cgi_arg0));)
            ),
            1,
            "{out}"
        );
    }

    #[test]
    fn a_function_named_main_is_nested() {
        let out = main(
            quote!(),
            quote!(
                fn main() -> &'static str {
                    "hi"
                }
            ),
        );
        let generated = quote! {
            fn run() -> Self {
                fn main() -> &'static str {
                    "hi"
                }
                ::cgi::__private::run(
                    ::cgi::__private::Limits::default(),
                    |__cgi_request: ::cgi::__private::Request| -> ::cgi::__private::Response {
                        ::core::mem::drop(__cgi_request);
                        let __cgi_response = main();
                        ::cgi::__private::IntoResponse::into_response(__cgi_response)
                    }
                );
                Self
            }
        };
        assert_eq!(count(&out, &generated), 1, "{out}");
        assert_eq!(
            count(&out, &quote!(fn main)),
            2,
            "the nested one and the module's: {out}"
        );
    }

    #[test]
    fn errors_keep_the_item_and_add_a_placeholder_main() {
        let out = main(
            quote!(bogus = 1),
            quote!(
                async fn handler<T>(self) {}
            ),
        );
        assert!(
            starts_with(
                &out,
                &quote!(
                    async fn handler<T>(self) {}
                )
            ),
            "{out}"
        );
        let errors = compile_errors(&out);
        assert_eq!(errors.len(), 3, "{errors:?}");
        for (error, start) in errors.iter().zip([
            "unknown argument `bogus`",
            "a `#[cgi::main]` function cannot be generic",
            "`#[cgi::main]` goes on a free function, not a method",
        ]) {
            assert!(
                error.starts_with(start),
                "{error:?} should start with {start:?}"
            );
        }
        assert!(
            ends_with(
                &out,
                &quote!(
                    fn main() {}
                )
            ),
            "{out}"
        );

        let out = main(
            quote!(bogus = 1),
            quote!(
                fn main() {}
            ),
        );
        assert_eq!(count(&out, &quote!(fn main)), 1, "no second main: {out}");
        assert_eq!(compile_errors(&out).len(), 1, "{out}");
    }
}
