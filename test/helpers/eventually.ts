// Retries an assertion until it passes or the time is up (then its last error stands).
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000, stepMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
