//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on a corio
//! runtime. Use them through the `corio` crate.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Parses `workers = N`; returns `None` if absent.
fn parse_workers(args: TokenStream) -> syn::Result<Option<usize>> {
    let parser = Punctuated::<MetaNameValue, Token![,]>::parse_terminated;
    let args = parser.parse(args)?;
    let mut workers = None;
    for arg in args {
        if !arg.path.is_ident("workers") {
            return Err(syn::Error::new_spanned(
                &arg.path,
                "unknown option: corio's attribute macros take `workers = N`",
            ));
        }
        match &arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(n), ..
            }) => {
                let n: usize = n.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        n.to_string(),
                        "workers must be at least 1",
                    ));
                }
                workers = Some(n);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`workers` takes an integer literal",
                ))
            }
        }
    }
    Ok(workers)
}

fn check_async(f: &ItemFn, what: &str) -> syn::Result<()> {
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            f.sig.fn_token,
            format!("#[corio::{what}] goes on an `async fn`; add `async`"),
        ));
    }
    Ok(())
}

/// Runs `async fn main()` on a corio runtime (`#[corio::main(workers = N)]`).
///
/// Use it through the `corio` crate, where this example is compiled and run
/// as `corio::main`'s doctest:
///
/// ```ignore
/// #[corio::main(workers = 2)]
/// async fn main() {
///     let t = corio::spawn(async { 1 });
///     assert_eq!(t.await.unwrap(), 1);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, false)
}

/// Runs an `async fn` test on a fresh corio runtime (one worker unless
/// `#[corio::test(workers = N)]`).
///
/// Use it through the `corio` crate (tested there as `corio::test`):
///
/// ```ignore
/// #[corio::test]
/// async fn adds() {
///     assert_eq!(corio::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, true)
}

fn expand(args: TokenStream, item: TokenStream, is_test: bool) -> TokenStream {
    let what = if is_test { "test" } else { "main" };
    let result = (|| {
        let workers = parse_workers(args)?;
        let mut f: ItemFn = syn::parse(item)?;
        check_async(&f, what)?;
        f.sig.asyncness = None;
        let body = &f.block;
        let attrs = &f.attrs;
        let vis = &f.vis;
        let sig = &f.sig;
        let runtime = match (workers, is_test) {
            (Some(n), _) => quote! { ::corio::__private::test_runtime(#n) },
            (None, true) => quote! { ::corio::__private::test_runtime(1) },
            (None, false) => quote! {
                ::corio::Runtime::new().expect("corio::main: cannot start the runtime")
            },
        };
        let test_attr = if is_test {
            quote! { #[::core::prelude::v1::test] }
        } else {
            quote! {}
        };
        Ok::<_, syn::Error>(quote! {
            #test_attr
            #(#attrs)*
            #vis #sig {
                let __corio_rt = #runtime;
                __corio_rt.run(async move #body)
            }
        })
    })();
    match result {
        Ok(ts) => ts.into(),
        Err(e) => {
            let mut e = e;
            if e.span().source_text().is_none() {
                e = syn::Error::new(Span::call_site(), e.to_string());
            }
            e.to_compile_error().into()
        }
    }
}
