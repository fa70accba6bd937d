"""``{% bgcut %}``: show an image's cut-out, or the original while it is not ready.

    {% load bgcut_tags %}
    {% bgcut page.photo "thumbnail" %}
    {% bgcut page.photo "thumbnail" alt=page.title class="thumb" loading="lazy" %}
    {% bgcut product.image_file "full" as cut %}{{ cut.url }} {{ cut.width }} {{ cut.ready }}

Works with Wagtail images and Django ``FieldFile``s. The lookup is one query per image, or none
after ``prefetch_cutouts()``; a render never opens a file or asks the storage whether one exists.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, Parser, Token
from django.utils.translation import gettext as _

from ..cutouts import get_cutout
from ..exceptions import UnknownPreset
from ..presets import get_preset

register = template.Library()

_USAGE = '{% bgcut image "preset" [name=value ...] %} or {% bgcut image "preset" as variable %}'


class BgcutNode(template.Node):
    def __init__(
        self,
        image: FilterExpression,
        preset: FilterExpression,
        attrs: dict[str, FilterExpression],
        target: str | None,
    ):
        self.image = image
        self.preset = preset
        self.attrs = attrs
        self.target = target

    def render(self, context: template.Context) -> str:
        preset = self.preset.resolve(context)
        if not isinstance(preset, str) or not preset:
            raise template.TemplateSyntaxError(
                _("{%% bgcut %%} needs a preset name, got %(value)r. Usage: %(usage)s")
                % {"value": preset, "usage": _USAGE}
            )
        try:
            # Checked even when the image is empty, so a typo shows on every page that has it.
            get_preset(preset)
        except UnknownPreset as exc:
            raise template.TemplateSyntaxError(f"{{% bgcut %}}: {exc}") from exc

        image = self.image.resolve(context)
        if not image:
            if self.target:
                context[self.target] = None
            return ""
        result = get_cutout(image, preset)
        if self.target:
            context[self.target] = result
            return ""
        extra = {name: value.resolve(context) for name, value in self.attrs.items()}
        return result.img_tag(extra)


@register.tag("bgcut")
def do_bgcut(parser: Parser, token: Token) -> BgcutNode:
    bits = token.split_contents()[1:]
    target = None
    if "as" in bits:
        at = bits.index("as")
        if at != len(bits) - 2:
            raise template.TemplateSyntaxError(
                _("{%% bgcut %%}: 'as' must be followed by one variable name. Usage: %(usage)s")
                % {"usage": _USAGE}
            )
        target = bits[-1]
        bits = bits[:at]
    if len(bits) < 2:
        raise template.TemplateSyntaxError(
            _("{%% bgcut %%} takes an image and a preset name. Usage: %(usage)s")
            % {"usage": _USAGE}
        )
    image = parser.compile_filter(bits[0])
    preset = parser.compile_filter(bits[1])
    attrs: dict[str, FilterExpression] = {}
    for bit in bits[2:]:
        name, sep, value = bit.partition("=")
        if not sep or not name or not value:
            raise template.TemplateSyntaxError(
                _("{%% bgcut %%}: %(bit)r is not an attribute (name=value). Usage: %(usage)s")
                % {"bit": bit, "usage": _USAGE}
            )
        attrs[name] = parser.compile_filter(value)
    if target and attrs:
        raise template.TemplateSyntaxError(
            _(
                "{%% bgcut %%}: attributes cannot be combined with 'as'; write them in your own "
                "<img> tag, or use {{ %(target)s.img_tag }}."
            )
            % {"target": target}
        )
    return BgcutNode(image, preset, attrs, target)


@register.simple_tag
def bgcut_url(image: Any, preset: str) -> str:
    """The URL alone (cut-out, or original while not ready): ``{% bgcut_url img "full" %}``."""
    if not image:
        return ""
    return get_cutout(image, preset).url
