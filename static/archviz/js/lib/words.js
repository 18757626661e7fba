// Counts in words, as every page writes them.

/** "1 WebSocket", "2 WebSockets": `n` and the word for one or for many. */
export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
