// `nnc lsp`: the language server, on vscode-languageserver over stdio (JSON-RPC). Diagnostics on open and
// change (debounced; every open file whose program reads the changed one is re-checked), hover, go to
// definition, find references, completion, signature help, formatting (`nnc fmt`), rename, the outline and
// semantic tokens. Every request and notification is guarded: an exception is logged (stderr and the
// client's log) and answered with an empty result, so no input stops the server answering. A request on a
// document whose analysis is stale checks it first, so answers are always about the current text.
//
// The command line loads this file only for `nnc lsp` (a dynamic import), so `nnc check` and `nnc count`
// never load vscode-languageserver.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  DocumentFormattingRequest,
  ErrorCodes,
  MarkupKind,
  ResponseError,
  SemanticTokensBuilder,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type InitializeResult,
  type Location,
  type Position,
  type Range,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver/node.js";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic, Span } from "../diagnostics/diagnostic.js";
import { format } from "../format/format.js";
import type { Host } from "../program/host.js";
import * as t from "../../grammar/tokens.js";
import { layerKinds } from "../vocabulary/layers.js";
import {
  complete,
  hover,
  outline,
  semanticTokens,
  signatureHelp,
  tokenModifiers,
  tokenTypes,
  type CompletionKind,
  type OutlineItem,
} from "./features.js";
import { defKey, referencesTo, symbolAt, type Def } from "./symbols.js";
import { Workspace, type Analysis } from "./workspace.js";

export interface ServerOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** How files that are not open are read (the Node host). */
  readonly host: Host;
  /** Where the server logs (stderr). */
  readonly log: (line: string) => void;
}

/** Milliseconds between the last change and the check, unless the client says otherwise
 *  (`initializationOptions.debounceMs`). */
const defaultDebounceMs = 150;
/** Most diagnostics published for one file. */
const maxDiagnostics = 200;

export function startServer(options: ServerOptions): Connection {
  const connection = createConnection(options.input, options.output);
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace(options.host);
  const uris = new Map<string, string>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let debounceMs = defaultDebounceMs;

  const log = (message: string): void => {
    options.log(message);
    try {
      connection.console.error(message);
    } catch {
      // The connection may be gone; stderr has it.
    }
  };

  /** Runs `f`; on an exception logs it and returns `fallback`. */
  const guard = <T>(what: string, f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      log(`nnc lsp: ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fallback;
    }
  };

  // ── Files, URIs and positions ──────────────────────────────────────────────────────────────────────

  const fileOf = (uri: string): string => {
    if (uri.startsWith("file:")) {
      try {
        return path.normalize(fileURLToPath(uri));
      } catch {
        return uri;
      }
    }
    return uri;
  };
  const uriOf = (file: string): string => uris.get(file) ?? (path.isAbsolute(file) ? pathToFileURL(file).href : file);

  /** A text document for any file a program read (open or not), to convert offsets. */
  const closedDocs = new Map<string, TextDocument>();
  const docFor = (file: string, analyses: readonly Analysis[]): TextDocument | undefined => {
    const open = documents.get(uriOf(file));
    if (open) return open;
    for (const a of analyses) {
      const source = a.program.files.get(file)?.source;
      if (!source) continue;
      const cached = closedDocs.get(file);
      if (cached && cached.getText() === source.text) return cached;
      const doc = TextDocument.create(uriOf(file), "nn", 0, source.text);
      closedDocs.set(file, doc);
      return doc;
    }
    return undefined;
  };
  const rangeOf = (doc: TextDocument, span: Span): Range => ({
    start: doc.positionAt(span.start),
    end: doc.positionAt(span.end),
  });
  const locationOf = (span: Span, analyses: readonly Analysis[]): Location | undefined => {
    const doc = docFor(span.file, analyses);
    return doc ? { uri: uriOf(span.file), range: rangeOf(doc, span) } : undefined;
  };
  /** The offset of a position, or undefined when it lies outside the document. */
  const offsetIn = (doc: TextDocument, p: Position): number | undefined => {
    if (
      !Number.isInteger(p.line) ||
      !Number.isInteger(p.character) ||
      p.line < 0 ||
      p.character < 0 ||
      p.line >= doc.lineCount
    )
      return undefined;
    return doc.offsetAt(p);
  };

  // ── Checking and diagnostics ───────────────────────────────────────────────────────────────────────

  const toLsp = (d: Diagnostic, a: Analysis, doc: TextDocument): LspDiagnostic => {
    const all = workspace.all();
    let range: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    let prefix = "";
    const related: { location: Location; message: string }[] = [];
    if (d.span && d.span.file === a.file) range = rangeOf(doc, d.span);
    else if (d.span) {
      // A problem in an imported file: shown at the import that brings the file in.
      const at = importLeadingTo(a, d.span.file);
      if (at) range = rangeOf(doc, at);
      prefix = `${path.basename(d.span.file)}:${d.span.line}:${d.span.column}: `;
      const loc = locationOf(d.span, all);
      if (loc) related.push({ location: loc, message: d.message });
    }
    for (const label of d.labels) {
      const loc = locationOf(label.span, all);
      if (loc) related.push({ location: loc, message: label.message });
    }
    const extra = [...(d.help !== undefined ? [`help: ${d.help}`] : []), ...d.notes.map((n) => `note: ${n}`)];
    return {
      range,
      severity:
        d.severity === "error"
          ? DiagnosticSeverity.Error
          : d.severity === "warning"
            ? DiagnosticSeverity.Warning
            : DiagnosticSeverity.Information,
      code: d.code,
      source: "nnc",
      message: [prefix + d.message, ...extra].join("\n"),
      ...(related.length > 0 ? { relatedInformation: related } : {}),
    };
  };

  const check = (file: string): void => {
    guard(
      `checking ${file}`,
      () => {
        const pending = timers.get(file);
        if (pending) clearTimeout(pending);
        timers.delete(file);
        const a = workspace.analyze(file);
        const doc = documents.get(uriOf(file));
        if (!a || !doc) return;
        const diagnostics = a.diagnostics.slice(0, maxDiagnostics).map((d) => toLsp(d, a, doc));
        void connection.sendDiagnostics({ uri: uriOf(file), version: a.version, diagnostics });
      },
      undefined,
    );
  };

  /** Re-checks `file` and every open file whose program read it, after the debounce. */
  const schedule = (file: string, delay: number): void => {
    for (const target of workspace.dependents(file)) {
      const pending = timers.get(target);
      if (pending) clearTimeout(pending);
      if (delay <= 0) check(target);
      else
        timers.set(
          target,
          setTimeout(() => check(target), delay),
        );
    }
  };

  /** The analysis of a document's current text, checking it now when it is stale. */
  const current = (file: string): Analysis | undefined => {
    if (workspace.isFresh(file)) return workspace.analyses.get(file);
    check(file);
    return workspace.analyses.get(file);
  };

  documents.onDidOpen((e) =>
    guard(
      "didOpen",
      () => {
        const file = fileOf(e.document.uri);
        uris.set(file, e.document.uri);
        workspace.open(file, e.document.getText(), e.document.version);
        schedule(file, 0);
      },
      undefined,
    ),
  );
  documents.onDidChangeContent((e) =>
    guard(
      "didChange",
      () => {
        const file = fileOf(e.document.uri);
        uris.set(file, e.document.uri);
        const doc = workspace.documents.get(file);
        if (doc && doc.text === e.document.getText() && doc.version === e.document.version) return; // the open event
        workspace.change(file, e.document.getText(), e.document.version);
        schedule(file, debounceMs);
      },
      undefined,
    ),
  );
  documents.onDidClose((e) =>
    guard(
      "didClose",
      () => {
        const file = fileOf(e.document.uri);
        const dependents = workspace.dependents(file).filter((f) => f !== file);
        const pending = timers.get(file);
        if (pending) clearTimeout(pending);
        timers.delete(file);
        workspace.close(file);
        void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
        // Files that imported it now read it from disk.
        for (const f of dependents) schedule(f, 0);
      },
      undefined,
    ),
  );
  connection.onDidChangeWatchedFiles((e) =>
    guard(
      "didChangeWatchedFiles",
      () => {
        for (const change of e.changes) {
          const file = fileOf(change.uri);
          if (!workspace.documents.has(file)) schedule(file, 0);
        }
      },
      undefined,
    ),
  );

  // ── Requests ───────────────────────────────────────────────────────────────────────────────────────

  connection.onInitialize((params): InitializeResult => {
    const init = params.initializationOptions as { debounceMs?: unknown } | null | undefined;
    if (typeof init?.debounceMs === "number" && Number.isFinite(init.debounceMs) && init.debounceMs >= 0)
      debounceMs = Math.min(init.debounceMs, 10_000);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        completionProvider: { triggerCharacters: ["(", ",", "=", " ", ":"] },
        signatureHelpProvider: { triggerCharacters: ["(", ","], retriggerCharacters: ["="] },
        documentFormattingProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        semanticTokensProvider: {
          legend: { tokenTypes: [...tokenTypes], tokenModifiers: [...tokenModifiers] },
          full: true,
        },
      },
      serverInfo: { name: "nnc" },
    };
  });

  /** The open document and file of a request, with the offset of its position (undefined outside). */
  const at = (uri: string, position?: Position): { doc: TextDocument; file: string; offset: number } | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const offset = position ? offsetIn(doc, position) : 0;
    if (offset === undefined) return undefined;
    return { doc, file: fileOf(uri), offset };
  };

  connection.onHover((p) =>
    guard(
      "hover",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return null;
        const a = current(q.file);
        if (!a) return null;
        const h = hover(a, workspace.all(), q.offset);
        if (!h) return null;
        return { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: rangeOf(q.doc, h.span) };
      },
      null,
    ),
  );

  /** The definition under the cursor (import paths name a file). */
  const definitionAt = (a: Analysis, offset: number): { def?: Def; file?: string } | undefined => {
    const f = a.index.files.get(a.file);
    const imp = f?.importPaths.find((i) => i.span.start <= offset && offset <= i.span.end);
    if (imp) return imp.target !== undefined ? { file: imp.target } : undefined;
    const sym = symbolAt(a.index, a.file, offset);
    if (sym) return { def: sym.def };
    const call = f?.calls.find((c) => c.span.start <= offset && offset <= c.span.end);
    if (call?.target.kind === "block") {
      const def = a.index.defs.get(defKey(call.target.block.decl.name.span));
      if (def) return { def };
    }
    return undefined;
  };

  connection.onDefinition((p) =>
    guard(
      "definition",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return null;
        const a = current(q.file);
        if (!a) return null;
        const found = definitionAt(a, q.offset);
        if (!found) return null;
        if (found.file !== undefined)
          return {
            uri: uriOf(found.file),
            range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          };
        return found.def ? (locationOf(found.def.span, [a, ...workspace.all()]) ?? null) : null;
      },
      null,
    ),
  );

  /** Every occurrence of a definition across the open programs, each once. */
  const occurrences = (def: Def, includeDefinition: boolean): Span[] => {
    const key = defKey(def.span);
    const seen = new Set<string>();
    const out: Span[] = [];
    for (const a of workspace.all()) {
      for (const s of referencesTo(a.index, key, includeDefinition)) {
        const k = defKey(s);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(s);
      }
    }
    return out;
  };

  /** Makes every open document's analysis current (references and rename read all of them). */
  const refreshAll = (): void => {
    for (const file of workspace.documents.keys()) if (!workspace.isFresh(file)) check(file);
  };

  connection.onReferences((p) =>
    guard(
      "references",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return [];
        refreshAll();
        const a = workspace.analyses.get(q.file);
        const def = a ? definitionAt(a, q.offset)?.def : undefined;
        if (!def) return [];
        const all = workspace.all();
        return occurrences(def, p.context.includeDeclaration).flatMap((s) => locationOf(s, all) ?? []);
      },
      [],
    ),
  );

  const renamable = new Set<Def["kind"]>(["block", "const", "value", "param", "dim", "index"]);

  connection.onPrepareRename((p) =>
    guard(
      "prepareRename",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return null;
        const a = current(q.file);
        const sym = a ? symbolAt(a.index, a.file, q.offset) : undefined;
        if (!sym || !renamable.has(sym.def.kind)) return null;
        return { range: rangeOf(q.doc, sym.span), placeholder: sym.def.name };
      },
      null,
    ),
  );

  connection.onRenameRequest((p) =>
    guard(
      "rename",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return null;
        refreshAll();
        const a = workspace.analyses.get(q.file);
        const sym = a ? symbolAt(a.index, a.file, q.offset) : undefined;
        if (!sym || !renamable.has(sym.def.kind))
          return new ResponseError(
            ErrorCodes.InvalidRequest,
            "only blocks, constants, parameters, dimensions and values can be renamed",
          );
        const name = p.newName;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || t.keywordNames.has(name)) {
          return new ResponseError(
            ErrorCodes.InvalidParams,
            `\`${name}\` is not a name: use letters, digits and _, not starting with a digit, and not a keyword`,
          );
        }
        if (sym.def.kind === "block" && layerKinds.has(name))
          return new ResponseError(
            ErrorCodes.InvalidParams,
            `\`${name}\` is a layer kind; a block cannot have its name`,
          );
        const all = workspace.all();
        const changes: Record<string, TextEdit[]> = {};
        for (const s of occurrences(sym.def, true)) {
          const doc = docFor(s.file, all);
          if (!doc) continue;
          (changes[uriOf(s.file)] ??= []).push({ range: rangeOf(doc, s), newText: name });
        }
        const edit: WorkspaceEdit = { changes };
        return edit;
      },
      null,
    ),
  );

  const completionKinds: Record<CompletionKind, CompletionItemKind> = {
    layer: CompletionItemKind.Function,
    block: CompletionItemKind.Class,
    const: CompletionItemKind.Constant,
    value: CompletionItemKind.Variable,
    option: CompletionItemKind.Property,
    keyword: CompletionItemKind.Keyword,
    enum: CompletionItemKind.EnumMember,
    loss: CompletionItemKind.Function,
    quantity: CompletionItemKind.Field,
    dtype: CompletionItemKind.TypeParameter,
    param: CompletionItemKind.Variable,
  };

  connection.onCompletion((p) =>
    guard(
      "completion",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return [];
        current(q.file);
        const a = workspace.lastParsed.get(q.file) ?? workspace.analyses.get(q.file);
        return complete(q.doc.getText(), q.offset, a).map((c) => ({
          label: c.label,
          kind: completionKinds[c.kind],
          ...(c.detail !== undefined ? { detail: c.detail } : {}),
          ...(c.documentation !== undefined ? { documentation: c.documentation } : {}),
          ...(c.insertText !== undefined ? { insertText: c.insertText } : {}),
        }));
      },
      [],
    ),
  );

  connection.onSignatureHelp((p) =>
    guard(
      "signatureHelp",
      () => {
        const q = at(p.textDocument.uri, p.position);
        if (!q) return null;
        const a = workspace.lastParsed.get(q.file) ?? workspace.analyses.get(q.file);
        const sig = signatureHelp(q.doc.getText(), q.offset, a);
        if (!sig) return null;
        return {
          signatures: [
            {
              label: sig.label,
              ...(sig.documentation !== undefined ? { documentation: sig.documentation } : {}),
              parameters: sig.parameters.map((x) => ({ label: x.label, documentation: x.documentation })),
            },
          ],
          activeSignature: 0,
          activeParameter: sig.active,
        };
      },
      null,
    ),
  );

  connection.onRequest(DocumentFormattingRequest.type, (p) =>
    guard(
      "formatting",
      () => {
        const q = at(p.textDocument.uri);
        if (!q) return [];
        const text = q.doc.getText();
        const result = format(text, q.file);
        // A file with syntax errors is never rewritten (as `nnc fmt`): no edits.
        if (result.value === null || result.value === text) return [];
        return [
          { range: { start: { line: 0, character: 0 }, end: q.doc.positionAt(text.length) }, newText: result.value },
        ];
      },
      [],
    ),
  );

  const symbolKinds: Record<OutlineItem["kind"], SymbolKind> = {
    model: SymbolKind.Class,
    block: SymbolKind.Function,
    const: SymbolKind.Constant,
    layer: SymbolKind.Field,
    input: SymbolKind.Variable,
    param: SymbolKind.TypeParameter,
  };

  connection.onDocumentSymbol((p) =>
    guard(
      "documentSymbol",
      () => {
        const q = at(p.textDocument.uri);
        if (!q) return [];
        current(q.file);
        const a = workspace.lastParsed.get(q.file);
        const ast = a?.program.files.get(q.file)?.ast;
        if (!a || !ast) return [];
        // The outline of the last text that parsed, positioned in that text.
        const doc = a.text === q.doc.getText() ? q.doc : TextDocument.create(p.textDocument.uri, "nn", 0, a.text);
        const convert = (item: OutlineItem): DocumentSymbol => ({
          name: item.name,
          kind: symbolKinds[item.kind],
          ...(item.detail !== undefined ? { detail: item.detail } : {}),
          range: rangeOf(doc, item.range),
          selectionRange: rangeOf(doc, item.selection),
          children: item.children.map(convert),
        });
        return outline(ast).map(convert);
      },
      [],
    ),
  );

  connection.languages.semanticTokens.on((p) =>
    guard(
      "semanticTokens",
      () => {
        const q = at(p.textDocument.uri);
        if (!q) return { data: [] };
        const a = current(q.file);
        const builder = new SemanticTokensBuilder();
        for (const tok of semanticTokens(q.doc.getText(), a)) {
          const pos = q.doc.positionAt(tok.start);
          builder.push(pos.line, pos.character, tok.length, tokenTypes.indexOf(tok.type), tok.modifiers);
        }
        return builder.build();
      },
      { data: [] },
    ),
  );

  documents.listen(connection);
  connection.listen();
  return connection;
}

/** The import of the entry file through which `file` is read (its path's span). */
function importLeadingTo(a: Analysis, file: string): Span | undefined {
  const files = a.program.files;
  const entry = files.get(a.file);
  if (!entry) return undefined;
  for (const { decl, target } of entry.imports) {
    if (target === undefined) continue;
    const seen = new Set<string>();
    const stack = [target];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (f === file) return decl.path.span;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const i of files.get(f)?.imports ?? []) if (i.target !== undefined) stack.push(i.target);
    }
  }
  return undefined;
}
