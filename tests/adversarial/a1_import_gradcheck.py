# assignment: a1_gradient_descent
# target: numerical_gradient
# expect-zero: numerical_gradient
# expect-message: numgrad: course_lib.gradcheck
import course_lib.gradcheck as gc


def numerical_gradient(f, x, h=1e-5):
    return gc.numerical_gradient(f, x, h)
