use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, temp: f32) {
        sum(z / temp)
    }
}

fn main() {}
