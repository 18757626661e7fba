// Where the topology's boxes go for the width the picture has on screen (pure, no DOM).
// Its text is sized in the SVG's units, so the picture is never drawn smaller than 1:1:
// at 1000 units and wider it is scaled up; narrower, the boxes are spread over the width
// there is, and on a phone they stack in one column that grows with the number of nodes.

export const WIDE = 1000; // the width the picture was drawn for
export const NARROW_BELOW = 700; // narrower than this: one column
const MIN_WIDTH = 300; // the least a phone's panel leaves, in units
const BOX_W = 190;
const NODE_H = 104; // nodeGrid's largest node box
const NODE_GAP = 12;

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

/** The layout for a picture `pixels` wide on screen holding `nodeCount` nodes. */
export function topologyLayout(pixels, nodeCount) {
  if (!(pixels > 0) || pixels >= WIDE) return wideLayout(WIDE);
  if (pixels >= NARROW_BELOW) return wideLayout(Math.floor(pixels));
  return narrowLayout(Math.max(MIN_WIDTH, Math.floor(pixels)), nodeCount);
}
