//! Collecting the errors of one invocation, so that all of them are reported
//! together (as serde_derive's `Ctxt` does).

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub struct Errors {
    list: RefCell<Vec<syn::Error>>,
}

impl Errors {
    pub fn new() -> Self {
        Errors::default()
    }

    /// Records an error.
    pub fn push(&self, error: syn::Error) {
        self.list.borrow_mut().push(error);
    }

    /// Records `message` at the tokens of `at`.
    pub fn error(&self, at: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(at, message));
    }

    /// Records `message` spanning a token stream (for spans over several nodes).
    pub fn error_spanned(&self, at: proc_macro2::TokenStream, message: impl Display) {
        self.push(syn::Error::new_spanned(at, message));
    }

    pub fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// `Ok` if nothing was recorded, else every error combined into one.
    pub fn finish(self) -> syn::Result<()> {
        let mut list = self.list.into_inner().into_iter();
        match list.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in list {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}
