use loss_core::loss;

loss! {
    pub fn f(#[grad] p: Vector<C>) {
        -sum(p * log(p))
    }
}

fn main() {}
