"""The one settings object, grouped by concern.

Library code takes `Settings` (or one of its groups) as a parameter; only entry
points build it, from defaults, an optional TOML file and `RAG_*` environment
variables (nested with `__`, e.g. `RAG_CHUNKING__SIZE=128`). Unknown keys are
errors, never silently ignored.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import ConfigError
from rag.modes import (
    DEFAULT_FUSION,
    FusionMode,
    GeneratorKind,
    PdfParser,
    QueryTransformKind,
    RerankerKind,
)

PACKAGED_MODEL = "all-MiniLM-L6-v2"
DEFAULT_INDEX_DIR = Path(".rag/index")


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChunkStrategy(StrEnum):
    RECURSIVE = "recursive"
    FIXED = "fixed"
    SEMANTIC = "semantic"


class BM25Method(StrEnum):
    LUCENE = "lucene"  # idf = ln(1 + (N - df + 0.5) / (df + 0.5)), as Lucene and Pyserini
    OKAPI = "okapi"  # rank-bm25's BM25Okapi, negative idf floored at epsilon * mean idf


class DenseIndexType(StrEnum):
    AUTO = "auto"
    FLAT = "flat"
    HNSW = "hnsw"
    IVF_SQ8 = "ivf-sq8"


class EmbeddingBackend(StrEnum):
    ONNX_INT8 = "onnx-int8"
    ONNX = "onnx"
    TORCH = "torch"


class EmbeddingSettings(_Group):
    model: str = Field(
        PACKAGED_MODEL,
        description="Model name or local path; the default is the packaged all-MiniLM-L6-v2.",
    )
    backend: EmbeddingBackend = Field(
        EmbeddingBackend.ONNX_INT8,
        description="onnx-int8 (fastest), onnx (float32) or torch (sentence-transformers).",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="torch backend only.")
    device: str = Field("cpu", description="torch backend only.")
    threads: int = Field(0, ge=0, description="Threads for the model; 0 means all cores.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "rag" / "models" / "onnx",
        description="Where the ONNX export of the model is kept (made once, on first use).",
    )


class ChunkingSettings(_Group):
    strategy: ChunkStrategy = ChunkStrategy.RECURSIVE
    size: int = Field(
        200, ge=16, description="Tokens of the embedding model's tokenizer per chunk."
    )
    overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    semantic_percentile: float = Field(
        25.0,
        gt=0,
        lt=100,
        description="Semantic chunking breaks where adjacent-sentence similarity falls "
        "below this percentile of the document's similarities.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class TokenizerSettings(_Group):
    """How BM25 turns text into terms."""

    lowercase: bool = True
    stopwords: str = Field("lucene", pattern="^(lucene|none)$")
    stemmer: str = Field("porter", description="A PyStemmer algorithm, or 'none'.")


class BM25Settings(_Group):
    # Lucene / Pyserini defaults for BEIR: k1=0.9, b=0.4.
    k1: float = Field(0.9, ge=0)
    b: float = Field(0.4, ge=0, le=1)
    method: BM25Method = BM25Method.LUCENE
    epsilon: float = Field(0.25, ge=0, description="okapi only: floor for negative idf.")


class DenseSettings(_Group):
    index_type: DenseIndexType = Field(
        DenseIndexType.AUTO,
        description="auto: flat (exact) below hnsw_from vectors, hnsw below ivf_from, then ivf-sq8",
    )
    hnsw_from: int = Field(50_000, ge=1, description="auto: vectors from which HNSW is used.")
    ivf_from: int = Field(
        500_000,
        ge=1,
        description="auto: vectors from which IVF-SQ8 is used (a quarter the memory).",
    )
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(200, ge=8)
    hnsw_ef_search: int = Field(64, ge=8)
    ivf_nprobe: int = Field(16, ge=1)


class RetrievalSettings(_Group):
    mode: FusionMode = DEFAULT_FUSION
    top_k: int = Field(10, ge=1, le=100)
    max_top_k: int = Field(100, ge=1, le=1000)
    candidates: int = Field(100, ge=1, le=2000, description="Hits each retriever passes to fusion.")
    rrf_k: float = Field(60.0, ge=0, description="RRF constant on 1-based ranks.")
    dense_weight: float = Field(1.0, ge=0)
    sparse_weight: float = Field(1.0, ge=0)
    use_tuning: bool = Field(
        True,
        description="Fuse with the weights `rag tune` chose for the index (where it has), "
        "in place of dense_weight and sparse_weight.",
    )
    reranker: RerankerKind = Field(
        RerankerKind.NONE, description="Reranking stage; off by default."
    )
    cross_encoder: str | None = Field(None, description="CrossEncoder model name or path.")
    rerank_candidates: int = Field(
        20, ge=1, le=200, description="Fused hits the reranker rescores (cross-encoder)."
    )
    # The 1.5B local model judges about 0.5 passage pairs/s here: only the top few.
    llm_rerank_candidates: int = Field(4, ge=1, le=50)
    summary_leaves: int = Field(
        2,
        ge=1,
        le=20,
        description="Chunks a RAPTOR summary found hands on to the results, the nearest first.",
    )


class LLMSettings(_Group):
    """The local generator model (llama.cpp), and which model does the other tasks."""

    backend: str = Field(
        "local",
        pattern="^(local|openai)$",
        description="Model for the support judge, condensing and query transforms: the "
        "local one, or the OpenAI-compatible server of openai.* (the local model is then "
        "not loaded unless it answers).",
    )
    model_path: Path | None = Field(
        None, description="A GGUF file; None means the packaged Qwen2.5-Coder-1.5B-Instruct."
    )
    context: int = Field(4096, ge=512, le=32768, description="Context window in tokens.")
    threads: int = Field(0, ge=0, description="CPU threads; 0 means all cores.")
    max_tokens: int = Field(256, ge=1, le=4096)
    seed: int = 0
    prefix_cache: bool = Field(
        True, description="Keep the system prompt's KV cache and load it back for each answer."
    )
    flash_attn: bool = Field(True, description="llama.cpp's flash attention (faster on CPU).")
    prompt_lookup: int = Field(
        0, ge=0, le=32, description="Tokens drafted by prompt-lookup decoding; 0 turns it off."
    )
    # Reading a 1,000-token prompt takes about 30 s on 2 cores (`rag bench answer`).
    deadline_s: float = Field(
        300.0,
        gt=0,
        description="Longest a local answer may take; past it the answer falls back or fails.",
    )


class AnswerSettings(_Group):
    generator: GeneratorKind = Field(
        GeneratorKind.LOCAL,
        description="local LLM, an OpenAI-compatible server, or extractive (no LLM).",
    )
    passages: int = Field(
        4,
        ge=1,
        le=20,
        description="Passages shown to the generator (prompt length dominates "
        "answer time: `rag bench answer` measures it).",
    )
    # The local model reads about 90 prompt tokens/s on 2 cores (`rag bench answer`):
    # 800 characters (about 200 tokens) keep the first token near 3 s.
    evidence_chars: int = Field(
        800,
        ge=0,
        le=20_000,
        description="Characters of evidence shown to the generator in all: the sentences "
        "of the passages that best match the question; 0 shows whole passages.",
    )
    # Tuned on SciFact train with the default model: the best passage's cosine is under
    # 0.35 for 0.4% of the 809 answerable train claims and for 79% of 120 off-topic SQuAD
    # questions (0.25: 0% and 29%; 0.45: 4.0% and 97.5%). Other corpora may want their own.
    min_relevance: float = Field(
        0.35,
        ge=-1,
        le=1,
        description="Refuse without generating when the best passage's "
        "cosine similarity to the question is below this.",
    )
    # Tuned on 150 SciFact-claims train pairs (`rag eval judge --split train`): the
    # judge's P(yes) is low even for supported claims; 0.35 gives the best balanced
    # accuracy (0.75; 0.5 gave 0.61, passing only 24% of supported claims).
    support_threshold: float = Field(
        0.35, ge=0, le=1, description="A sentence is supported when its judge score reaches this."
    )
    drop_unsupported: bool = Field(False, description="Drop unsupported sentences (else flag).")
    query_transform: QueryTransformKind = Field(
        QueryTransformKind.NONE, description="LLM query rewriting."
    )
    max_tokens: int = Field(200, ge=16, le=2048)


class OpenAISettings(_Group):
    """An OpenAI-compatible chat server: vLLM, Ollama, a llama.cpp server, a hosted API."""

    base_url: str = Field("http://127.0.0.1:8080/v1", description="Up to and including /v1.")
    model: str = "default"
    api_key: str | None = Field(None, description="Sent as a bearer token; never logged.")
    timeout_s: float = Field(
        60.0, gt=0, description="Longest wait to connect, and for each piece of the reply."
    )
    deadline_s: float = Field(
        120.0, gt=0, description="Longest a whole reply may take, however steadily it arrives."
    )


class KeyGrant(_Group):
    """What one API key may do: its role, and the collections it may read (an
    admin key also writes them); `*` is every collection."""

    role: Literal["user", "admin"] = "user"
    collections: tuple[str, ...] = Field(("*",), min_length=1)


class ServiceSettings(_Group):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    user_keys: tuple[str, ...] = Field(
        (), description="Bearer tokens that may query every collection."
    )
    admin_keys: tuple[str, ...] = Field(
        (), description="Bearer tokens for admin routes too, on every collection."
    )
    keys: dict[str, KeyGrant] = Field(
        {},
        description="Key -> {role, collections}; a key may be given as 'sha256:<hex digest>' "
        "so the settings hold no secret.",
    )
    max_upload_mb: int = Field(
        100, ge=1, description="Largest upload to POST /v1/collections/{name}/documents."
    )
    reload_interval_s: float = Field(
        2.0, ge=0, description="How often to look for a newer index generation; 0 never."
    )
    max_question_chars: int = Field(2000, ge=1)
    max_body_bytes: int = Field(65536, ge=1024)
    # Admission control (rag.service.admission). The local LLM generates one answer
    # at a time; searches take milliseconds on 2 cores, so a queue no longer than the
    # searches at work keeps the admitted ones fast (README "Load": with 8 queued,
    # p50 rose from 91 to 145 ms as clients went from 8 to 64), and the rest are
    # told at once when to come back.
    max_answers: int = Field(2, ge=1, description="Answers (query, chat) being made at once.")
    answer_queue: int = Field(8, ge=0, description="Answers waiting for a place; more get 503.")
    answer_wait_s: float = Field(
        60.0, gt=0, description="Longest an answer waits for a place before a 503."
    )
    max_searches: int = Field(4, ge=1, description="Searches being run at once.")
    search_queue: int = Field(4, ge=0, description="Searches waiting for a place; more get 503.")
    search_wait_s: float = Field(
        2.0, gt=0, description="Longest a search waits for a place before a 503."
    )
    chat_model: str = Field(
        "rag", min_length=1, description="The model id GET /v1/models lists for the index."
    )
    batch_dir: Path | None = Field(
        None,
        description="Where batch files and batches are kept; a service restarted on the "
        "same folder resumes unfinished batches (default: a temp dir, kept while it runs).",
    )
    max_batch_bytes: int = Field(10_000_000, ge=1024, description="Largest batch input file.")
    max_batch_lines: int = Field(5000, ge=1, description="Most requests in one batch.")


class IngestSettings(_Group):
    password: str | None = Field(None, description="Password for encrypted PDFs.")
    # PDFium reads the 485 pages of ../shared/pdfs in 2.0 s, pypdf in 9.5 s (one
    # core; tests/ingest/test_pdf_pdfium.py holds the two to the same text).
    pdf_parser: PdfParser = Field(
        PdfParser.PDFIUM,
        description="pdfium (PDFium in C, the default) or pypdf (pure Python, the reference).",
    )
    pdf_tables: bool = Field(
        True,
        description="pdfium only: tables ruled with lines become Markdown tables in the "
        "page's text, at their place.",
    )
    follow_symlinks: bool = False
    min_page_chars: int = Field(
        20, ge=0, description="Pages with fewer letters or digits count as having no text."
    )
    max_file_mb: float = Field(512, gt=0, description="Larger files are refused unread.")
    # Per-file bounds against hostile input (tests/ingest/test_hostile_corpus.py).
    max_document_chars: int = Field(
        10_000_000,
        ge=1000,
        description="Characters of text one document may hold (a PDF's pages together, "
        "a text, Markdown or HTML file as decoded, one BEIR record); more is refused.",
    )
    max_pages: int = Field(
        10_000,
        ge=1,
        description="PDFs with more pages, and presentations with more slides, are refused "
        "before any is read.",
    )
    # The densest of the 480 pages in ../shared/pdfs (Federal Register, three columns)
    # yields 9,668 characters.
    max_page_chars: int = Field(
        200_000,
        ge=1000,
        description="Characters one PDF page may yield; extraction stops there and the file "
        "is refused (a form drawn 5,000 times on a page is a text bomb).",
    )
    # About pypdf's own default (75 MB) for each filter; the test bomb inflates to 1 GiB.
    max_pdf_stream_mb: float = Field(
        75,
        gt=0,
        description="Decompressed size of one PDF stream; a larger one is refused as a "
        "decompression bomb.",
    )
    # A .docx or .pptx is a zip that python-docx and python-pptx read whole into
    # memory; XML compresses about 10:1 and media barely, so a genuine file under
    # max_file_mb stays under this, while a zip bomb (1,000:1 and more) does not.
    max_unzipped_mb: float = Field(
        1024,
        gt=0,
        description="Uncompressed size of a .docx or .pptx file's parts together; a larger "
        "file is refused unread as a decompression bomb.",
    )
    parse_timeout_s: float = Field(
        300,
        gt=0,
        description="Seconds one PDF may take to parse, checked between pages and between "
        "the operators of each page's content (for .docx and .pptx, between blocks and slides).",
    )
    ocr: bool = Field(
        True,
        description="Read PDF pages without a text layer by OCR (Tesseract, when installed).",
    )
    ocr_max_pages: int = Field(
        100, ge=0, description="Pages of one file read by OCR; the rest are named and skipped."
    )
    ocr_page_timeout_s: float = Field(
        60, gt=0, description="Seconds OCR may take on one page; a slower page is skipped."
    )
    ocr_dpi: int = Field(200, ge=50, le=600, description="Resolution pages are rendered at.")
    ocr_max_megapixels: float = Field(
        64,
        gt=0,
        description="Largest rendered page for OCR (a larger page is rendered at a lower "
        "resolution), and the most pixels a page's images may hold to be rendered at all.",
    )
    ocr_languages: str = Field(
        "eng",
        pattern=r"^[a-z_]+(\+[a-z_]+)*$",
        description="Tesseract languages, e.g. 'eng+deu' (each needs its tesseract-ocr-* package).",
    )
    parse_workers: int = Field(
        1,
        ge=0,
        le=64,
        description="Processes that parse files while this one embeds; 0 parses here, "
        "one file at a time.",
    )
    keep_generations: int = Field(2, ge=1, description="Index generations kept on disk.")
    shards: int = Field(
        1,
        ge=1,
        le=256,
        description="Shards a new generation is split into: contiguous ranges of chunks, "
        "each with its own FAISS index and BM25 postings (weighted with the whole corpus's "
        "statistics); 1 writes one index.",
    )


class RaySettings(_Group):
    """`--engine ray`: ingest and serving on a Ray cluster (the `ray` extra)."""

    address: str = Field(
        "auto", description="The cluster to join: host:port of its head, or auto (this node's)."
    )
    embed_workers: int = Field(
        2, ge=1, le=1024, description="Embedding actors, each loading the model once."
    )
    embed_cpus: float = Field(
        1.0,
        gt=0,
        description="CPUs each embedding actor reserves; its model runs on as many threads.",
    )
    parse_cpus: float = Field(
        0.25, gt=0, description="CPUs each parsing task reserves (pypdf holds one core)."
    )
    files_per_batch: int = Field(
        8, ge=1, description="Parsed files handed to an embedding actor at a time."
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=100,
        description="Restarts of a dead actor, and retries of its work, before the ingest "
        "fails (and publishes nothing).",
    )
    # Serving (`rag serve --engine ray`): an HTTP front and a searcher per shard.
    replicas: int = Field(1, ge=1, description="Replicas of the HTTP front, when not autoscaling.")
    shard_replicas: int = Field(
        1, ge=1, description="Replicas of each shard's searcher, when not autoscaling."
    )
    autoscaling: bool = Field(
        False, description="Let Ray Serve scale the front and each shard between the bounds."
    )
    min_replicas: int = Field(1, ge=0, description="Autoscaling: fewest replicas of each part.")
    max_replicas: int = Field(4, ge=1, description="Autoscaling: most replicas of each part.")
    target_ongoing_requests: float = Field(
        2.0, gt=0, description="Autoscaling: requests in flight per replica it aims at."
    )
    shard_cpus: float = Field(0.5, gt=0, description="CPUs each shard replica reserves.")
    front_cpus: float = Field(0.5, gt=0, description="CPUs each HTTP front replica reserves.")

    @model_validator(mode="after")
    def _replica_range(self) -> RaySettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        return self


class RaptorSettings(_Group):
    """RAPTOR at ingest (`ingest.raptor`): summaries of clusters of chunks, indexed."""

    enabled: bool = Field(
        False,
        description="Build the summary tree at ingest (`rag ingest --raptor`); an index "
        "that has one keeps it up to date without this.",
    )
    cluster_size: int = Field(5, ge=2, le=50, description="Chunks (or summaries) per cluster.")
    levels: int = Field(3, ge=1, le=8, description="Most levels of summaries.")
    summary_tokens: int = Field(128, ge=16, le=1024, description="Longest summary, LLM tokens.")
    seed: int = 0


class EvalSettings(_Group):
    cache_dir: Path = Field(
        Path.home() / ".cache" / "rag" / "eval",
        description="Indexes of benchmark corpora, kept between runs (their embeddings).",
    )
    depth: int = Field(
        300, ge=10, le=2000, description="Chunks retrieved per query to rank 100 documents."
    )
    judge_base_url: str | None = Field(
        None, description="OpenAI-compatible URL (up to /v1) for ragas' LLM metrics."
    )
    judge_model: str = "default"
    judge_api_key: str | None = Field(None, description="Bearer token; never logged.")
    judge_timeout_s: float = Field(300.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    index_dir: Path = DEFAULT_INDEX_DIR
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    tokenizer: TokenizerSettings = TokenizerSettings()
    bm25: BM25Settings = BM25Settings()
    dense: DenseSettings = DenseSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    service: ServiceSettings = ServiceSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    openai: OpenAISettings = OpenAISettings()
    ingest: IngestSettings = IngestSettings()
    raptor: RaptorSettings = RaptorSettings()
    eval: EvalSettings = EvalSettings()
    ray: RaySettings = RaySettings()

    def with_changes(self, **groups: dict[str, Any]) -> Settings:
        """A copy with some fields of some groups replaced, validated again."""
        data = self.model_dump()
        for group, values in groups.items():
            if isinstance(data.get(group), dict):
                data[group].update(values)
            else:
                data[group] = values
        return build_settings(data, use_env=False)

    def record(self) -> dict[str, Any]:
        """The settings as recorded in a report: secrets and machine paths left out."""
        data = self.model_dump(mode="json", exclude={"index_dir", "service"})
        data["eval"].pop("cache_dir", None)
        for group in data.values():
            if isinstance(group, dict):
                for key in [k for k in group if "key" in k or "password" in k]:
                    group[key] = "***" if group[key] else None
        return data


def build_settings(data: dict[str, Any] | None = None, *, use_env: bool = True) -> Settings:
    """Settings from `data` over environment variables over defaults."""
    try:
        if use_env:
            return Settings(**(data or {}))
        return Settings.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(_describe(exc), "fix the setting named above") from None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings for an entry point: TOML file (if given), env, then explicit overrides."""
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {config}: {exc}") from None
    for key, value in overrides.items():
        if value is None:
            continue
        group, _, field = key.partition("__")
        if field:
            data.setdefault(group, {})[field] = value
        else:
            data[group] = value
    return build_settings(data)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}")
    return "invalid settings: " + "; ".join(parts)
