/**
 * glibc malloc settings for the engine process, passed in GLIBC_TUNABLES (read by glibc when a
 * process starts; other C libraries, macOS and Windows ignore the variable).
 *
 * Why: every socket read and every `cipher.update` allocates a buffer that V8 frees in batches
 * after a collection. With glibc's defaults the freed memory at the top of the heap goes back to
 * the kernel as soon as it exceeds 128 KiB (glibc raises that only after a large mmapped block
 * has been freed, so it depends on what the process did before), and during a transfer the heap
 * can shrink and grow again hundreds of times a second, every page of every new buffer faulted in
 * afresh: 11–37 minor faults per MiB through a -L upload on Node 24, where these settings leave
 * about 1 and take 9–27 % off the CPU per GB (bench/README.md, change 23). They keep up to 32 MiB
 * of freed heap for reuse and serve blocks below 16 MiB from the heap — within glibc's own
 * adaptive range — at the cost of up to that much more resident memory in the engine process once
 * it has carried a transfer. Electron (VS Code desktop) may route malloc elsewhere; then the
 * variable does nothing.
 */
const ENGINE_MALLOC_TUNABLES: ReadonlyArray<readonly [string, number]> = [
  ['glibc.malloc.trim_threshold', 32 * 1024 * 1024],
  ['glibc.malloc.mmap_threshold', 16 * 1024 * 1024],
];

/**
 * GLIBC_TUNABLES for the engine process: the user's own (from the extension host's environment)
 * first and untouched, then each of ours the user has not set.
 */
export function engineTunables(users: string | undefined): string {
  const own = (users ?? '').split(':').filter(Boolean);
  const set = new Set(own.map((t) => t.split('=')[0]));
  return [...own, ...ENGINE_MALLOC_TUNABLES.filter(([name]) => !set.has(name)).map(([name, value]) => `${name}=${value}`)].join(':');
}
