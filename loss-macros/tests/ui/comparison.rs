use loss_core::loss;

loss! {
    pub fn f(#[grad] x: PerSample) {
        x < 0.0
    }
}

fn main() {}
