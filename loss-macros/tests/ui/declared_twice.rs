use loss_core::loss;

loss! {
    pub fn f(#[grad] x: PerSample) {
        x * x
    }

    pub fn f(#[grad] x: PerSample) {
        x + x
    }
}

fn main() {}
