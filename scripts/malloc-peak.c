/*
 * malloc-peak: an LD_PRELOAD interposer that counts the bytes a process holds through the C heap, for
 * scripts/torch-saved-tensors.py's whole-process inference peak (the profiler sees only c10's allocator;
 * oneDNN allocates its own buffers with posix_memalign, outside it).
 *
 * Every malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign and free goes to glibc's own
 * (__libc_*), and while armed (mp_arm) each block made is remembered with its requested size in a table of
 * its own (no allocation of ours), so a free of it is counted too; blocks made before arming are not
 * counted when freed. Two running sums with their highest points: every block, and the aligned ones alone
 * (posix_memalign / aligned_alloc / memalign: c10's CPU allocator and oneDNN both allocate so, 64-byte
 * aligned; tensor metadata, Python's objects and std containers come through malloc/new). A third sum
 * counts every block at malloc_usable_size (what the heap really hands out).
 *
 * Build: gcc -O2 -shared -fPIC -o malloc-peak.so scripts/malloc-peak.c
 * Use: LD_PRELOAD=./malloc-peak.so python3 …; ctypes.CDLL(None).mp_arm() / mp_peak_aligned() …
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

#define SLOTS (1u << 21)
struct slot {
  uintptr_t p; /* 0 empty, 1 deleted */
  size_t size;
  int aligned;
};
static struct slot table[SLOTS];
static volatile int lock_word;
static int armed;
/* The aligned blocks' sizes in order while armed, + made, − freed (the first EVENTS). */
#define EVENTS 4096
static long long events[EVENTS];
static int n_events;
static long long live_all, top_all, live_aligned, top_aligned, live_usable, top_usable, dropped;

static void lock(void) {
  while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE)) {
  }
}
static void unlock(void) { __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE); }
static size_t hash(uintptr_t p) { return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 43) & (SLOTS - 1); }

static void note(void *ptr, size_t size, int aligned) {
  if (!ptr || !armed) return;
  lock();
  size_t i = hash((uintptr_t)ptr);
  for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
    if (table[i].p <= 1) {
      table[i].p = (uintptr_t)ptr;
      table[i].size = size;
      table[i].aligned = aligned;
      long long usable = (long long)malloc_usable_size(ptr);
      live_all += (long long)size;
      live_usable += usable;
      if (aligned) {
        live_aligned += (long long)size;
        if (n_events < EVENTS) events[n_events++] = (long long)size;
      }
      if (live_all > top_all) top_all = live_all;
      if (live_aligned > top_aligned) top_aligned = live_aligned;
      if (live_usable > top_usable) top_usable = live_usable;
      unlock();
      return;
    }
  }
  dropped++;
  unlock();
}

static void forget(void *ptr) {
  if (!ptr) return;
  lock();
  size_t i = hash((uintptr_t)ptr);
  for (size_t n = 0; n < SLOTS && table[i].p != 0; n++, i = (i + 1) & (SLOTS - 1)) {
    if (table[i].p == (uintptr_t)ptr) {
      live_all -= (long long)table[i].size;
      live_usable -= (long long)malloc_usable_size(ptr);
      if (table[i].aligned) {
        live_aligned -= (long long)table[i].size;
        if (n_events < EVENTS) events[n_events++] = -(long long)table[i].size;
      }
      table[i].p = 1;
      break;
    }
  }
  unlock();
}

void *malloc(size_t n) {
  void *p = __libc_malloc(n);
  note(p, n, 0);
  return p;
}
void free(void *p) {
  forget(p);
  __libc_free(p);
}
void *calloc(size_t k, size_t n) {
  void *p = __libc_calloc(k, n);
  note(p, k * n, 0);
  return p;
}
void *realloc(void *old, size_t n) {
  forget(old);
  void *p = __libc_realloc(old, n);
  note(p, n, 0);
  return p;
}
void *memalign(size_t a, size_t n) {
  void *p = __libc_memalign(a, n);
  note(p, n, 1);
  return p;
}
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  void *p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  note(p, n, 1);
  *out = p;
  return 0;
}

/* Start counting from zero: the sums and their highest points. */
void mp_arm(void) {
  lock();
  for (size_t i = 0; i < SLOTS; i++) table[i].p = 0;
  live_all = top_all = live_aligned = top_aligned = live_usable = top_usable = dropped = 0;
  n_events = 0;
  armed = 1;
  unlock();
}
void mp_disarm(void) { armed = 0; }
long long mp_peak_all(void) { return top_all; }
long long mp_peak_aligned(void) { return top_aligned; }
long long mp_peak_usable(void) { return top_usable; }
long long mp_live_all(void) { return live_all; }
long long mp_live_aligned(void) { return live_aligned; }
long long mp_dropped(void) { return dropped; }
int mp_events(void) { return n_events; }
long long mp_event(int i) { return i >= 0 && i < n_events ? events[i] : 0; }
