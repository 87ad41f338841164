use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, t: Vector<C>) {
        (z - t).powi(2)
    }
}

fn main() {}
