"""Load and validate sources.yaml and the environment.

Every problem is a `ConfigError` that names the file, the line, the source id and the fix, so the
communications team can correct the file without reading code. Validation collects all problems it can
before raising, one per line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipeline.errors import ConfigError
from pipeline.types import (
    Branding,
    Config,
    DeliverySettings,
    DigestSettings,
    HttpSettings,
    Member,
    ProviderSettings,
    Selectors,
    Settings,
    Source,
    Theme,
    ThemeTerms,
)

PROVIDERS = ("outbox", "smtp", "mailgun", "sendgrid", "postmark")
SOURCE_KINDS = ("feed", "page", "home")
LANGUAGES = ("en", "no")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SECRET_ENV = (
    "PIPELINE_SECRET_KEY",
    "MAILGUN_API_KEY",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "SENDGRID_API_KEY",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "POSTMARK_SERVER_TOKEN",
    "POSTMARK_WEBHOOK_USER",
    "POSTMARK_WEBHOOK_PASSWORD",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
)
#: Which environment variables each provider needs to send.
PROVIDER_ENV = {
    "outbox": (),
    "smtp": (),
    "mailgun": ("MAILGUN_API_KEY",),
    "sendgrid": ("SENDGRID_API_KEY",),
    "postmark": ("POSTMARK_SERVER_TOKEN",),
}


# --- YAML with line numbers -----------------------------------------------------------------------


class Node(dict[str, Any]):
    """A mapping from the YAML file that remembers the line of itself and of each key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}


class _LineLoader(yaml.SafeLoader):
    """SafeLoader with line numbers, and YAML 1.2 booleans: `no` is Norwegian here, not False."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Node:
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key is False:  # a YAML 1.1 tool rewrote the key `no` (Norwegian) as `false`
            key = "no"
        out[str(key)] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(node: Any, key: str | None = None) -> int | None:
    if isinstance(node, Node):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return None


class _Problems:
    """Collects every problem in one pass so the user fixes them all at once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def add(
        self,
        problem: str,
        *,
        at: Any = None,
        key: str | None = None,
        source_id: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.errors.append(
            ConfigError(problem, file=self.file, line=_line(at, key), source_id=source_id, fix=fix)
        )

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        if len(self.errors) == 1:
            raise self.errors[0]
        first = self.errors[0]
        more = "\n".join(str(e) for e in self.errors)
        err = ConfigError(f"{len(self.errors)} problems:\n{more}")
        err.file, err.line, err.source_id, err.fix = first.file, first.line, first.source_id, first.fix
        raise err


# --- public entry points --------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the YAML file at `path`."""
    p = Path(path)
    if not p.exists():
        raise ConfigError("file not found", file=str(p), fix="pass --config PATH or create sources.yaml")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from exc
    return parse_config(text, file=str(p))


def read_yaml(text: str) -> dict[str, Any]:
    """A sources.yaml document as plain data, read the way `load_config` reads it (`no` stays "no")."""
    data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    return plain_data(data) if isinstance(data, Mapping) else {}


def parse_config(text: str, *, file: str = "sources.yaml") -> Config:
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(
            f"not valid YAML: {exc.problem}",
            file=file,
            line=line,
            fix="check indentation and quoting near that line",
        ) from exc
    if not isinstance(data, Node):
        raise ConfigError("the file must be a mapping with settings, sources and themes", file=file)
    problems = _Problems(file)
    _check_keys(data, {"settings", "sources", "themes", "noise", "members"}, problems, "top level")
    settings = _settings(data.get("settings") or Node(), problems)
    themes = _themes(data.get("themes") or Node(), data, problems)
    theme_ids = {t.id for t in themes}
    sources = _sources(data.get("sources"), data, theme_ids, problems)
    _check_section_order(settings, theme_ids, data, problems)
    _check_schedule(settings, data, problems)
    members = _members(data.get("members"), sources, data, problems)
    problems.raise_if_any()
    noise = data.get("noise") or {}
    return Config(
        path=file,
        settings=settings,
        sources=tuple(sources),
        themes=tuple(themes),
        noise=plain_data(noise),
        members=members,
    )


def check_environment(config: Config, env: Mapping[str, str] | None = None) -> list[str]:
    """Warnings about the environment: missing secrets for the configured provider, a missing key."""
    env = os.environ if env is None else env
    warnings: list[str] = []
    if not env.get("PIPELINE_SECRET_KEY"):
        warnings.append(
            "PIPELINE_SECRET_KEY is not set: unsubscribe links cannot be signed, so `send` "
            "will refuse to run (set a long random value; `demo` makes a throwaway one)"
        )
    provider = config.settings.delivery.provider
    for name in PROVIDER_ENV.get(provider, ()):
        if not env.get(name):
            warnings.append(f"{name} is not set but delivery.provider is {provider}")
    return warnings


# --- sections -------------------------------------------------------------------------------------


def _check_keys(
    node: Any, allowed: set[str], problems: _Problems, where: str, source_id: str | None = None
) -> None:
    if not isinstance(node, Node):
        return
    for key in node:
        if key not in allowed:
            problems.add(
                f"unknown key '{key}' in {where}",
                at=node,
                key=key,
                source_id=source_id,
                fix=f"use one of: {', '.join(sorted(allowed))}",
            )


def _settings(node: Any, problems: _Problems) -> Settings:
    if not isinstance(node, Node):
        problems.add("settings must be a mapping", at=node)
        return Settings()
    _check_keys(
        node,
        {"timezone", "public_url", "language", "http", "digest", "delivery", "branding"},
        problems,
        "settings",
    )
    tz = str(node.get("timezone", Settings.timezone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(
            f"unknown timezone '{tz}'", at=node, key="timezone", fix="use an IANA name like Europe/Oslo"
        )
    public_url = str(node.get("public_url", Settings.public_url)).rstrip("/")
    if not _is_http_url(public_url):
        problems.add(
            f"public_url '{public_url}' is not an http(s) URL",
            at=node,
            key="public_url",
            fix="write the site's base address, e.g. https://news.example.org",
        )
    language = str(node.get("language", "en"))
    if language not in LANGUAGES:
        problems.add(f"language '{language}' is not en or no", at=node, key="language", fix="use en or no")
        language = "en"
    http = _dataclass_from(
        HttpSettings, node.get("http"), problems, "settings.http", {"allow_private": tuple}
    )
    for pair in http.allow_private:
        if not re.match(r"^[^\s:]+:\d{1,5}$", pair) and not re.match(r"^\[[0-9a-fA-F:]+\]:\d{1,5}$", pair):
            problems.add(
                f"allow_private entry '{pair}' is not host:port",
                at=node.get("http"),
                key="allow_private",
                fix="write host:port, e.g. intranet.example.org:443",
            )
    digest = _dataclass_from(
        DigestSettings, node.get("digest"), problems, "settings.digest", {"section_order": tuple}
    )
    branding = _dataclass_from(Branding, node.get("branding"), problems, "settings.branding", {})
    delivery = _delivery(node.get("delivery") or Node(), problems)
    return Settings(
        timezone=tz,
        public_url=public_url,
        language=language,  # type: ignore[arg-type]
        http=http,
        digest=digest,
        delivery=delivery,
        branding=branding,
    )


def _delivery(node: Any, problems: _Problems) -> DeliverySettings:
    simple = {f.name for f in fields(DeliverySettings)} - {"providers", "sender"}
    allowed = simple | {"from"} | set(PROVIDERS)
    _check_keys(node, allowed, problems, "settings.delivery")
    if not isinstance(node, Node):
        return DeliverySettings()
    plain = {k: v for k, v in node.items() if k in simple}
    sub = Node(plain)
    sub.line, sub.key_lines = node.line, node.key_lines
    base = _dataclass_from(DeliverySettings, sub, problems, "settings.delivery", {})
    provider = base.provider
    if provider not in PROVIDERS:
        problems.add(
            f"unknown delivery provider '{provider}'",
            at=node,
            key="provider",
            fix=f"use one of: {', '.join(PROVIDERS)}",
        )
    providers = []
    for name in PROVIDERS:
        opts = node.get(name)
        if opts is None:
            continue
        if not isinstance(opts, Mapping):
            problems.add(f"delivery.{name} must be a mapping", at=node, key=name)
            continue
        for key in opts:
            if re.search(r"(key|token|password|secret)", str(key), re.I):
                problems.add(
                    f"delivery.{name}.{key} looks like a secret",
                    at=opts,
                    key=str(key),
                    fix="remove it from the file and set the environment variable instead",
                )
        providers.append(
            ProviderSettings(name=name, options=tuple((str(k), str(v)) for k, v in opts.items()))
        )
    sender = str(node.get("from", DeliverySettings.sender))
    if "@" not in sender:
        problems.add(
            f"delivery.from '{sender}' has no email address",
            at=node,
            key="from",
            fix='write e.g. "Cluster News <news@example.org>"',
        )
    return DeliverySettings(**{**_asdict_shallow(base), "sender": sender, "providers": tuple(providers)})


def _themes(node: Any, root: Node, problems: _Problems) -> list[Theme]:
    if not isinstance(node, Mapping):
        problems.add("themes must be a mapping of theme id to label and terms", at=root, key="themes")
        return []
    out: list[Theme] = []
    for theme_id, spec in node.items():
        if not SLUG.match(str(theme_id)):
            problems.add(
                f"theme id '{theme_id}' is not a slug",
                at=node,
                key=theme_id,
                fix="use lower-case letters, digits and hyphens",
            )
        if not isinstance(spec, Node):
            problems.add(f"theme '{theme_id}' must be a mapping with label and terms", at=node, key=theme_id)
            continue
        _check_keys(
            spec, {"label", "label_no", "terms", "exclude", "weight"}, problems, f"theme '{theme_id}'"
        )
        terms = _terms(spec.get("terms"), spec, "terms", theme_id, problems)
        if not terms.en and not terms.no:
            problems.add(f"theme '{theme_id}' has no terms", at=spec, fix="add terms: {en: [...], no: [...]}")
        label = str(spec.get("label") or theme_id)
        out.append(
            Theme(
                id=str(theme_id),
                label=label,
                label_no=str(spec.get("label_no") or label),
                terms=terms,
                exclude=_terms(spec.get("exclude"), spec, "exclude", theme_id, problems),
                weight=_number(spec, "weight", 1.0, problems, f"theme '{theme_id}'"),
            )
        )
    return out


def _terms(node: Any, parent: Node, key: str, theme_id: str, problems: _Problems) -> ThemeTerms:
    if node is None:
        return ThemeTerms()
    if not isinstance(node, Mapping):
        problems.add(f"theme '{theme_id}' {key} must map en/no to lists", at=parent, key=key)
        return ThemeTerms()
    _check_keys(node, {"en", "no"}, problems, f"theme '{theme_id}' {key}")
    lists = {}
    for lang in ("en", "no"):
        value = node.get(lang) or []
        if isinstance(value, str) or not isinstance(value, list):
            problems.add(
                f"theme '{theme_id}' {key}.{lang} must be a list",
                at=node,
                key=lang,
                fix="write [term one, term two]",
            )
            value = []
        lists[lang] = tuple(str(v).strip() for v in value if str(v).strip())
    return ThemeTerms(en=lists["en"], no=lists["no"])


SOURCE_KEYS = {f.name for f in fields(Source)}


def _sources(node: Any, root: Node, theme_ids: set[str], problems: _Problems) -> list[Source]:
    if node is None:
        problems.add("no sources", at=root, fix="add a sources: list")
        return []
    if not isinstance(node, list):
        problems.add(
            "sources must be a list", at=root, key="sources", fix="start each source with '- id: ...'"
        )
        return []
    seen: dict[str, int | None] = {}
    out: list[Source] = []
    for spec in node:
        if not isinstance(spec, Node):
            problems.add("each source must be a mapping", at=root, key="sources")
            continue
        source = _source(spec, theme_ids, problems)
        if source is None:
            continue
        if source.id in seen:
            problems.add(
                f"duplicate source id (first at line {seen[source.id]})",
                at=spec,
                key="id",
                source_id=source.id,
                fix="give each source a unique id",
            )
            continue
        seen[source.id] = _line(spec, "id")
        out.append(source)
    return out


def _source(spec: Node, theme_ids: set[str], problems: _Problems) -> Source | None:
    sid = str(spec.get("id") or "")
    if not sid:
        problems.add("source without id", at=spec, fix="add id: a-stable-slug")
        return None
    if not SLUG.match(sid):
        problems.add(
            "id is not a slug",
            at=spec,
            key="id",
            source_id=sid,
            fix="use lower-case letters, digits and hyphens",
        )
    _check_keys(spec, SOURCE_KEYS, problems, "source", source_id=sid)
    kind = str(spec.get("kind", "feed"))
    if kind not in SOURCE_KINDS:
        problems.add(
            f"unknown kind '{kind}'",
            at=spec,
            key="kind",
            source_id=sid,
            fix="use feed, page or home (a home page whose feed is discovered)",
        )
        return None
    url = str(spec.get("url") or "")
    if not _is_http_url(url):
        problems.add(
            f"bad URL '{url}'",
            at=spec,
            key="url" if "url" in spec else None,
            source_id=sid,
            fix="write a full http(s) address, e.g. https://example.org/news/feed",
        )
    selectors = None
    sel = spec.get("selectors")
    if kind == "page":
        if not isinstance(sel, Node) or not sel.get("item") or not sel.get("title"):
            problems.add(
                "page source without selectors (item and title are required)",
                at=spec,
                source_id=sid,
                fix='add selectors: {item: "article", title: "h2", link: "a"}',
            )
        else:
            _check_keys(sel, {f.name for f in fields(Selectors)}, problems, "selectors", source_id=sid)
            selectors = Selectors(
                **{k: str(v) for k, v in sel.items() if k in {f.name for f in fields(Selectors)}}
            )
    elif sel is not None:
        problems.add(
            f"selectors are only read for page sources, not {kind}",
            at=spec,
            key="selectors",
            source_id=sid,
            fix="remove selectors or set kind: page",
        )
    language = spec.get("language")
    if language is not None and str(language) not in LANGUAGES:
        problems.add(
            f"language '{language}' is not en or no",
            at=spec,
            key="language",
            source_id=sid,
            fix="use en or no, or leave it out to detect it per item",
        )
        language = None
    themes = _str_tuple(spec.get("themes"))
    for t in themes:
        if t not in theme_ids:
            problems.add(
                f"unknown theme '{t}'",
                at=spec,
                key="themes",
                source_id=sid,
                fix=f"use one of: {', '.join(sorted(theme_ids))}",
            )
    return Source(
        id=sid,
        name=str(spec.get("name") or sid),
        kind=kind,  # type: ignore[arg-type]
        url=url,
        member=bool(spec.get("member", False)),
        member_id=str(spec["member_id"]) if spec.get("member_id") else None,
        language=language,
        selectors=selectors,
        themes=themes,
        weight=_number(spec, "weight", 1.0, problems, "source", sid),
        enabled=bool(spec.get("enabled", True)),
        aliases=_str_tuple(spec.get("aliases")),
        fetch_articles=bool(spec.get("fetch_articles", True)),
        interval_minutes=int(_number(spec, "interval_minutes", 60, problems, "source", sid)),
    )


def _members(node: Any, sources: list[Source], root: Node, problems: _Problems) -> tuple[Member, ...]:
    """Members listed alone, merged with member sources (a source's name and aliases name its member)."""
    listed: dict[str, Member] = {}
    if node is not None and not isinstance(node, list):
        problems.add("members must be a list of {id, name, aliases}", at=root, key="members")
        node = None
    for spec in node or []:
        if not isinstance(spec, Node) or not spec.get("id") or not spec.get("name"):
            problems.add(
                "each member needs an id and a name",
                at=spec if isinstance(spec, Node) else root,
                key=None if isinstance(spec, Node) else "members",
                fix="write {id: slug, name: Name}",
            )
            continue
        _check_keys(spec, {"id", "name", "aliases"}, problems, "member")
        mid = str(spec["id"])
        listed[mid] = Member(id=mid, name=str(spec["name"]), aliases=_str_tuple(spec.get("aliases")))
    for s in sources:
        if not s.member:
            continue
        mid = s.member_id or s.id
        known = listed.get(mid)
        aliases = tuple(dict.fromkeys((*(known.aliases if known else ()), *s.aliases)))
        listed[mid] = Member(id=mid, name=known.name if known else s.name, aliases=aliases)
    return tuple(listed.values())


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCES = ("daily", "weekly", "fortnightly", "monthly")


def _check_schedule(settings: Settings, root: Node, problems: _Problems) -> None:
    digest = settings.digest
    node = root.get("settings") if isinstance(root.get("settings"), Node) else root
    where = node.get("digest") if isinstance(node, Node) and isinstance(node.get("digest"), Node) else node
    if digest.send_day.lower() not in WEEKDAYS:
        problems.add(
            f"settings.digest.send_day '{digest.send_day}' is not a weekday",
            at=where,
            key="send_day",
            fix="write monday, tuesday, ... or sunday",
        )
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", digest.send_time):
        problems.add(
            f"settings.digest.send_time '{digest.send_time}' is not a time",
            at=where,
            key="send_time",
            fix='write 24-hour HH:MM in quotes, e.g. "09:00"',
        )
    if digest.cadence not in CADENCES:
        problems.add(
            f"settings.digest.cadence '{digest.cadence}' is unknown",
            at=where,
            key="cadence",
            fix=f"use one of: {', '.join(CADENCES)}",
        )


def _check_section_order(settings: Settings, theme_ids: set[str], root: Node, problems: _Problems) -> None:
    for t in settings.digest.section_order:
        if t not in theme_ids:
            problems.add(
                f"settings.digest.section_order names unknown theme '{t}'",
                at=root,
                key="settings",
                fix=f"use theme ids: {', '.join(sorted(theme_ids))}",
            )


# --- small helpers --------------------------------------------------------------------------------


def _dataclass_from(
    cls: Any, node: Any, problems: _Problems, where: str, converters: Mapping[str, Callable[[Any], Any]]
) -> Any:
    if node is None:
        return cls()
    if not isinstance(node, Mapping):
        problems.add(f"{where} must be a mapping")
        return cls()
    known = {f.name: f for f in fields(cls)}
    defaults = cls()
    _check_keys(node, set(known), problems, where)
    values: dict[str, Any] = {}
    for key, value in node.items():
        if key not in known:
            continue
        default = getattr(defaults, key)
        try:
            if key in converters:
                values[key] = converters[key](value or ())
            elif isinstance(default, bool):
                values[key] = _bool(value)
            elif isinstance(default, int | float) and not isinstance(value, int | float):
                raise ValueError
            elif isinstance(default, float):
                values[key] = float(value)
            elif isinstance(default, int):
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                values[key] = int(value)
            else:
                values[key] = type(default)(value) if default is not None else value
        except (TypeError, ValueError):
            problems.add(
                f"{where}.{key} has the wrong type ({value!r})",
                at=node,
                key=key,
                fix=f"write a {type(default).__name__} like {default!r}",
            )
            continue
        if isinstance(values[key], int | float) and not isinstance(values[key], bool) and values[key] < 0:
            problems.add(f"{where}.{key} must not be negative", at=node, key=key)
            values.pop(key)
    return cls(**values)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(value)


def _number(
    spec: Mapping[str, Any],
    key: str,
    default: float,
    problems: _Problems,
    where: str,
    source_id: str | None = None,
) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.add(
            f"{key} must be a non-negative number, not {value!r}", at=spec, key=key, source_id=source_id
        )
        return default
    return float(value)


def _str_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url


def _asdict_shallow(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def plain_data(value: Any) -> Any:
    """Plain dicts and lists from our Node trees or from a YAML 1.1 reader (yaml.safe_load), where a key
    read as False was the Norwegian `no`."""
    if isinstance(value, Mapping):
        return {("no" if k is False else str(k)): plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_data(v) for v in value]
    return value
