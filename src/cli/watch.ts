// `nnc build --watch`: build, then rebuild whenever a file the build read (a spec, an import — or tried
// to read: a missing import) changes, until interrupted.
//
// What is watched: the directories holding those files, not the files. `fs.watch` on a file follows its
// inode, so it goes deaf when an editor saves by writing a new file and renaming it over the old one, and
// it cannot see a deleted file come back; a directory watch sees all of these, and a missing import being
// created. Events are filtered to the files of interest (our own outputs and temporary files in the same
// directory do not trigger a build). A directory that does not exist is replaced by its nearest existing
// ancestor. `fs.watch` (inotify, FSEvents, ReadDirectoryChangesW) was chosen over `fs.watchFile` polling:
// no latency, no CPU per file while idle; polling would only be needed on file systems that deliver no
// events (some network and container mounts).
//
// Events are debounced (an editor's save is often several events); events during a build schedule one more
// build after it. A build with errors writes nothing, so the last good outputs stay; the loop never ends on
// a bad spec, only when `signal` is aborted (Ctrl-C).
import fs from "node:fs";
import path from "node:path";

/** Watches one directory; `onEvent` gets the name of the entry that changed, or `null` when unknown. */
export type WatchDir = (dir: string, onEvent: (name: string | null) => void) => { close(): void };

export interface WatchOptions {
  /** One build; resolves to every file it read or tried to read. */
  readonly build: () => Promise<readonly string[]>;
  readonly signal: AbortSignal;
  readonly watchDir?: WatchDir;
  /** Quiet time after the last event before a rebuild. */
  readonly debounceMs?: number;
}

export const nodeWatchDir: WatchDir = (dir, onEvent) => {
  const watcher = fs.watch(dir, { persistent: true }, (_event, name) => onEvent(name === null ? null : String(name)));
  // The directory itself was deleted or became unreadable: rebuild (the build reports the missing files)
  // and watch again from its nearest existing ancestor.
  watcher.on("error", () => onEvent(null));
  return watcher;
};

export async function watch(options: WatchOptions): Promise<void> {
  const watchDir = options.watchDir ?? nodeWatchDir;
  const debounceMs = options.debounceMs ?? 80;
  const { signal } = options;
  /** Absolute paths of the files of interest. */
  let files = new Set<string>();
  const watchers = new Map<string, { close(): void }>();
  let dirty = false;
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const changed = (): void => {
    dirty = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      wake?.();
    }, debounceMs);
  };
  const relevant = (dir: string, name: string | null): boolean => {
    if (name === null) return true;
    const entry = path.join(dir, name);
    for (const f of files) if (f === entry || f.startsWith(entry + path.sep)) return true;
    return false;
  };
  const subscribe = (read: readonly string[]): void => {
    files = new Set(read.map((f) => path.resolve(f)));
    const dirs = new Set([...files].map((f) => existingAncestor(path.dirname(f))));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        watchers.set(
          dir,
          watchDir(dir, (name) => relevant(dir, name) && changed()),
        );
      } catch {
        // Gone between the check and the watch: the next event elsewhere, or the next build, retries.
      }
    }
  };
  const onAbort = (): void => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    while (!signal.aborted) {
      dirty = false;
      const read = await options.build();
      if (signal.aborted) break;
      subscribe(read);
      if (!dirty || timer !== undefined) {
        // Wait for a change (debounced) or the end.
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (timer !== undefined) clearTimeout(timer);
    for (const w of watchers.values()) w.close();
  }
}

function existingAncestor(dir: string): string {
  let d = dir;
  for (;;) {
    try {
      if (fs.statSync(d).isDirectory()) return d;
    } catch {
      // keep climbing
    }
    const up = path.dirname(d);
    if (up === d) return d;
    d = up;
  }
}
