use loss_core::loss;

loss! {
    pub fn f(#[grad] x: PerSample) {
        sum(x)
    }
}

fn main() {}
