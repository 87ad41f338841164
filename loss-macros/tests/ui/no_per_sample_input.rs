use loss_core::loss;

loss! {
    pub fn f(#[grad] a: Scalar, w: Weights<C>) {
        a * sum(w)
    }
}

fn main() {}
