// A language client for tests: spawns `node bin/nnc.js lsp --stdio` (the built CLI, as an editor starts it)
// and speaks JSON-RPC to it over stdio with vscode-jsonrpc's message connection, as VS Code's client does.
import { spawn, type ChildProcess } from "node:child_process";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node.js";

export interface LspClient {
  readonly connection: MessageConnection;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the first diagnostics published for `uri` (from now on, or the latest already
   *  received when `pred` accepts it) that satisfy `pred`; rejects after `ms`. */
  diagnostics(
    uri: string,
    pred: (p: PublishDiagnosticsParams) => boolean,
    ms?: number,
  ): Promise<PublishDiagnosticsParams>;
  open(uri: string, text: string, version?: number): void;
  change(uri: string, text: string, version: number): void;
  close(uri: string): void;
  request<T>(method: string, params: unknown): Promise<T>;
  stop(): Promise<number | null>;
}

export async function startLsp(initializationOptions: object = { debounceMs: 10 }): Promise<LspClient> {
  const child = spawn(process.execPath, ["bin/nnc.js", "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (stderr += s));
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  const latest = new Map<string, PublishDiagnosticsParams>();
  const waiters: {
    uri: string;
    pred: (p: PublishDiagnosticsParams) => boolean;
    resolve: (p: PublishDiagnosticsParams) => void;
  }[] = [];
  connection.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
    latest.set(p.uri, p);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.uri === p.uri && w.pred(p)) {
        waiters.splice(i, 1);
        w.resolve(p);
      }
    }
  });
  connection.onNotification("window/logMessage", () => {});
  connection.listen();
  await connection.sendRequest("initialize", {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions,
  });
  await connection.sendNotification("initialized", {});
  return {
    connection,
    child,
    stderr: () => stderr,
    diagnostics(uri, pred, ms = 10_000) {
      const now = latest.get(uri);
      if (now && pred(now)) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no matching diagnostics for ${uri} within ${ms} ms; last: ${JSON.stringify(latest.get(uri))}`),
            ),
          ms,
        );
        waiters.push({
          uri,
          pred,
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
        });
      });
    },
    open(uri, text, version = 1) {
      latest.delete(uri);
      void connection.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "nn", version, text },
      });
    },
    change(uri, text, version) {
      void connection.sendNotification("textDocument/didChange", {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      });
    },
    close(uri) {
      void connection.sendNotification("textDocument/didClose", { textDocument: { uri } });
    },
    request<T>(method: string, params: unknown) {
      return connection.sendRequest(method, params) as Promise<T>;
    },
    async stop() {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      await connection.sendRequest("shutdown");
      await connection.sendNotification("exit");
      const code = await exited;
      connection.dispose();
      return code;
    },
  };
}
