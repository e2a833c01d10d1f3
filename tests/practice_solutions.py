"""Learner solutions shared by the practice tests (text written into a learner's file).

- ``ELEMENTWISE``: the element-wise steps (activations, dropout, the losses' forwards), which
  read the same in every notation's layout;
- ``OPTIMIZER_STEPS``: ``momentum_step`` and ``adam_step`` (no forward: no gradient check).
"""

ELEMENTWISE = '''
import numpy as np


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_forward(z):
    return _sigmoid(z)


def sigmoid_backward(z, grad_out):
    return grad_out * _sigmoid(z) * (1 - _sigmoid(z))


def tanh_forward(z):
    return np.tanh(z)


def tanh_backward(z, grad_out):
    return grad_out * (1 - np.tanh(z) ** 2)


def relu_forward(z):
    return np.maximum(z, 0)


def relu_backward(z, grad_out):
    return grad_out * (z > 0)


def dropout_forward(x, mask, p):
    return x * mask / (1 - p)


def dropout_backward(grad_out, mask, p):
    return grad_out * mask / (1 - p)


def mse_forward(output, target):
    return np.mean((output - target) ** 2)


def bce_forward(probs, target):
    return -np.mean(target * np.log(probs) + (1 - target) * np.log(1 - probs))


def sigmoid_bce_forward(logits, target):
    return bce_forward(_sigmoid(logits), target)
'''

OPTIMIZER_STEPS = '''

def momentum_step(weight, grad, velocity, lr, momentum):
    v = momentum * velocity + grad
    return weight - lr * v, v


def adam_step(weight, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return weight - step, m, v
'''
