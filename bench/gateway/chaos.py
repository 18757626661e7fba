"""placeholder"""


def run(stack, sizes):
    raise NotImplementedError
