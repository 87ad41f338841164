use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>) {
        for v in z { v * v }
    }
}

fn main() {}
