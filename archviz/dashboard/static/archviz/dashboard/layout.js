// Where the topology's boxes go for the width the picture has on screen (pure, no DOM).
// Its text is sized in the SVG's units, so the picture is never drawn smaller than 1:1:
// at 1000 units and wider it is scaled up; narrower, the boxes are spread over the width
// there is, and on a phone they stack in one column that grows with the number of nodes.
// Below it all, the lab's other processes (balancer, clients, consumers, the gateway demo) in
// group boxes: in columns of at least GROUP_MIN_W units, one column on a phone.

export const WIDE = 1000; // the width the picture was drawn for
export const NARROW_BELOW = 700; // narrower than this: one column
const MIN_WIDTH = 300; // the least a phone's panel leaves, in units
const BOX_W = 190;
const NODE_H = 104; // nodeGrid's largest node box
const NODE_GAP = 12;
const GROUP_MIN_W = 200; // a process line ("traffic · up · pid 123456") fits at 12 px
const GROUP_GAP = 12;
export const GROUP_TITLE_H = 30; // a group box's title, above its lines
export const GROUP_LINE_H = 16;
const GROUP_CAPTION_H = 32; // the band's caption above its boxes

/** A group box tall enough for `lines` lines of text. */
const groupHeight = (lines) => GROUP_TITLE_H + lines * GROUP_LINE_H + 8;

/** The group boxes below `top`, in as many columns as `width` holds (one on a phone), each
 * row of boxes as tall as its tallest; `bottom` is where the band ends. */
export function groupBand(width, top, lineCounts, { narrow = false } = {}) {
  if (lineCounts.length === 0) return { captionY: top, rects: [], bottom: top };
  const margin = narrow ? 10 : 20;
  const usable = width - 2 * margin;
  const fit = narrow ? 1 : Math.floor((usable + GROUP_GAP) / (GROUP_MIN_W + GROUP_GAP));
  const cols = Math.max(1, Math.min(lineCounts.length, fit));
  const w = (usable - (cols - 1) * GROUP_GAP) / cols;
  const rects = [];
  let y = top + GROUP_CAPTION_H;
  for (let start = 0; start < lineCounts.length; start += cols) {
    const row = lineCounts.slice(start, start + cols);
    const h = groupHeight(Math.max(...row));
    row.forEach((_, i) => rects.push({ x: margin + i * (w + GROUP_GAP), y, w, h }));
    y += h + GROUP_GAP;
  }
  return { captionY: top + 18, rects, bottom: y - GROUP_GAP };
}

/** A layout with the group band added below its bottom edge, and its height grown to hold it. */
function withGroups(layout, lineCounts) {
  const band = groupBand(layout.width, layout.height, lineCounts, { narrow: layout.narrow });
  return { ...layout, height: band.rects.length ? band.bottom + 10 : layout.height, groups: band };
}

/** The wide picture: supervisor and dashboard on the left, nodes in the middle, Redis right. */
function wideLayout(width) {
  const redisX = width - 20 - BOX_W;
  return {
    narrow: false,
    width,
    height: 530,
    nodeArea: { x: 250, y: 46, w: redisX - 40 - 250, h: 440 },
    grid: {},
    supervisorRect: { x: 20, y: 46, w: BOX_W, h: 90 },
    dashboardRect: { x: 20, y: 226, w: BOX_W, h: 106 }, // four rows: its tabs too
    redisRect: { x: redisX, y: 226, w: BOX_W, h: 90 },
    topLaneY: 16, // supervisor <-> Redis runs above everything, its label above it
    bottomLaneY: 514, // Redis <-> dashboard runs below the nodes
  };
}

/** One column: supervisor, Redis, the nodes, the dashboard; the lanes run down the right. */
function narrowLayout(width, nodeCount) {
  const w = width - 20;
  const supervisorRect = { x: 10, y: 6, w, h: 90 };
  const redisRect = { x: 10, y: 190, w, h: 90 }; // room above for both boxes' captions
  const rows = Math.max(1, nodeCount);
  const nodeArea = { x: 16, y: 310, w: width - 32, h: rows * NODE_H + (rows - 1) * NODE_GAP };
  const dashboardRect = { x: 10, y: nodeArea.y + nodeArea.h + 72, w, h: 106 };
  return {
    narrow: true,
    width,
    height: dashboardRect.y + dashboardRect.h + 8,
    nodeArea,
    grid: { maxRows: rows, maxWidth: nodeArea.w },
    supervisorRect,
    dashboardRect,
    redisRect,
    topLaneX: width - 30, // supervisor <-> Redis, right of the captions (left-aligned)
    sideLaneX: width - 4, // Redis <-> dashboard runs down the right edge, past the nodes
  };
}

/** The layout for a picture `pixels` wide on screen holding `nodeCount` nodes, and groups of
 * the other processes with `groupLines[i]` lines each. */
export function topologyLayout(pixels, nodeCount, groupLines = []) {
  return withGroups(baseLayout(pixels, nodeCount), groupLines);
}

function baseLayout(pixels, nodeCount) {
  if (!(pixels > 0) || pixels >= WIDE) return wideLayout(WIDE);
  if (pixels >= NARROW_BELOW) return wideLayout(Math.floor(pixels));
  return narrowLayout(Math.max(MIN_WIDTH, Math.floor(pixels)), nodeCount);
}
