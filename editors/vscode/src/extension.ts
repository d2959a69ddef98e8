// The VS Code client: starts `nnc lsp` over stdio for `.nn` files. The server is found in this order: the
// `nnc.server.path` setting, the workspace's node_modules/nnc (its bin/nnc.js, run with VS Code's own
// Node), `nnc` on the PATH. Bundled by esbuild into dist/extension.js (test/vscode-extension.test.ts).
import fs from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

/** A JavaScript file runs as a Node module; anything else as an executable. */
function serverAt(file: string): ServerOptions {
  if (file.endsWith(".js") || file.endsWith(".mjs") || file.endsWith(".cjs")) {
    return { module: file, args: ["lsp"], transport: TransportKind.stdio };
  }
  return { command: file, args: ["lsp"], transport: TransportKind.stdio };
}

function findServer(): ServerOptions {
  const configured = vscode.workspace.getConfiguration("nnc").get<string>("server.path", "");
  if (configured) return serverAt(configured);
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = path.join(folder.uri.fsPath, "node_modules", "nnc", "bin", "nnc.js");
    if (fs.existsSync(local)) return serverAt(local);
  }
  return { command: process.platform === "win32" ? "nnc.cmd" : "nnc", args: ["lsp"], transport: TransportKind.stdio };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "nn" },
      { scheme: "untitled", language: "nn" },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.nn") },
  };
  client = new LanguageClient("nnc", "nnc", findServer(), clientOptions);
  context.subscriptions.push(client);
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
