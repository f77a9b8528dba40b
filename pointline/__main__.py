"""``python -m pointline``: the same as the ``pointline`` console script."""

from pointline.cli import main_exit

if __name__ == "__main__":
    main_exit()
