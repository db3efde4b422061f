"""Which component drives which scene parameter.

Components arrive ordered (component 0 first); a scene lists its parameters in importance
order. The fixed order gives component i to the i-th most important parameter, so that when
components are ordered by spread (PCA) the most dynamic one drives the element that shows it
best. The random order (the paper's method II) is a seeded permutation; a list of names lets a
user choose. With a tagger's `tags` layer the names may instead be tags (`rock,electronic`):
then those tags' own probabilities drive the scene's most important parameters, in that order,
and the mapping's first components drive the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError

WORDS = ("fixed", "random")


def fixed_order(param_names: Sequence[str], importance: Sequence[str]) -> np.ndarray:
    """perm such that component i drives parameter perm[i] (an index into param_names)."""
    index = {n: i for i, n in enumerate(param_names)}
    perm = np.array([index[n] for n in importance], dtype=np.int64)
    if sorted(perm.tolist()) != list(range(len(param_names))):
        raise ValueError("importance must name every parameter exactly once")
    return perm


def random_order(n: int, seed: int) -> np.ndarray:
    """A one-to-one assignment that depends only on the seed."""
    return np.random.default_rng([seed, 0x0D3E]).permutation(n).astype(np.int64)


def named_order(names: Sequence[str], param_names: Sequence[str], importance: Sequence[str],
                tags: Sequence[str] = ()) -> np.ndarray:
    """Components 0, 1, ... go to the named parameters in turn; the parameters left out take
    the remaining components in importance order. `tags`: the model's, where it names its
    features, for a message that points to them too."""
    index = {n: i for i, n in enumerate(param_names)}
    unknown = [n for n in names if n not in index]
    if unknown:
        close = _close(unknown, tags)
        tagged = (f"; or name tags of the model, such as {', '.join(map(repr, close))}" if close
                  else "; or name tags of the model (`audioviz models -v` lists them)" if tags else "")
        raise ConfigError(
            f"--order names {', '.join(map(repr, unknown))}, which the scene does not have; "
            f"its parameters are: {', '.join(param_names)}{tagged}"
        )
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise ConfigError(f"--order names {', '.join(map(repr, repeated))} more than once")
    rest = [n for n in importance if n not in names]
    return np.array([index[n] for n in [*names, *rest]], dtype=np.int64)


def order_names(order: str) -> list[str]:
    """The names a comma-separated `--order` gives, stripped."""
    return [n.strip() for n in order.split(",") if n.strip()]


def resolve_order(order: str, param_names: Sequence[str], importance: Sequence[str], seed: int,
                  tags: Sequence[str] = ()) -> np.ndarray:
    """`fixed`, `random` or comma-separated parameter names -> a permutation."""
    if order == "fixed":
        return fixed_order(param_names, importance)
    if order == "random":
        return random_order(len(param_names), seed)
    return named_order(order_names(order), param_names, importance, tags)


def _key(name: str) -> str:
    """Tags match whatever their case and spacing: 'hip-hop' is 'Hip-Hop', 'female  vocalists' 'female vocalists'."""
    return " ".join(name.split()).casefold()


def _close(names: Sequence[str], tags: Sequence[str], n: int = 4) -> list[str]:
    """Up to `n` of `tags` that look like any of `names`."""
    by_key = {_key(t): t for t in tags}
    found: list[str] = []
    for name in names:
        for k in difflib.get_close_matches(_key(name), list(by_key), n=n, cutoff=0.6):
            if by_key[k] not in found:
                found.append(by_key[k])
    return found[:n]


def names_a_tag(order: str, tags: Sequence[str]) -> bool:
    """Whether `order` names any of `tags`."""
    keys = {_key(t) for t in tags}
    return order not in WORDS and any(_key(n) in keys for n in order_names(order))


def tag_columns(order: str, tags: Sequence[str], model: str, n_params: int) -> tuple[int, ...]:
    """The features (indices into `tags`) that `order` names as tags, in its order; () where it
    names none (`fixed`, `random` or scene parameters, checked against the scene later). Where
    it names any, every name must be a tag, each once: ConfigError in one line otherwise,
    with the tags that look closest to a misspelt one."""
    if not names_a_tag(order, tags):
        return ()
    names = order_names(order)
    by_key = {_key(t): i for i, t in enumerate(tags)}
    unknown = [n for n in names if _key(n) not in by_key]
    if unknown:
        close = _close(unknown, tags)
        hint = (f"close ones: {', '.join(map(repr, close))}" if close
                else f"its tags include {', '.join(tags[:6])}, ... (`audioviz models -v` lists them)")
        raise ConfigError(f"--order names {', '.join(map(repr, unknown))}, which is not a tag of {model}; {hint} "
                          "(--order names either tags or scene parameters)")
    columns = [by_key[_key(n)] for n in names]
    repeated = sorted({tags[c] for c in columns if columns.count(c) > 1})
    if repeated:
        raise ConfigError(f"--order names {', '.join(map(repr, repeated))} more than once")
    if len(columns) > n_params:
        raise ConfigError(f"--order names {len(columns)} tags; a scene has {n_params} parameters for them to drive")
    return tuple(columns)


def with_tags(components: np.ndarray, features: np.ndarray, columns: Sequence[int], mean: np.ndarray,
              scale: np.ndarray) -> np.ndarray:
    """(N, 10) components with the named tags first: each tag's probability in `features`,
    standardised with its fitted `mean` and `scale` to mean 0.5 and standard deviation 0.4 and
    clipped (the standard scaler, whatever --scaler says: a tag's own spread is what shows),
    followed by the mapping's first components."""
    from .scaling import Scaler

    cols = list(columns)
    driven = Scaler("standard", np.asarray(mean)[cols], np.asarray(scale)[cols]).apply(features[:, cols])
    return np.concatenate([driven, components[:, : components.shape[1] - len(cols)]], axis=1).astype(components.dtype)


def apply_order(components: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(N, 10) in component order -> (N, 10) in the scene's parameter order."""
    out = np.empty_like(components)
    out[:, perm] = components
    return out
