package game

// Grid is a uniform grid over the world that finds the items near a point.
// It is rebuilt every tick: Reset, Add each item's position in item order,
// Finish; then Cells and Items answer queries. It allocates only when the
// world or the item count grows.
type Grid struct {
	cell       float32
	cols, rows int
	start      []int32 // start[c]..start[c+1] index items of cell c
	items      []int32 // item indexes sorted by cell
	cellOf     []int32 // cell of each added item
}

// NewGrid returns a grid of cells of size cell over a w×h world.
func NewGrid(w, h, cell float32) *Grid {
	g := &Grid{cell: cell}
	g.cols = max(1, int(w/cell)+1)
	g.rows = max(1, int(h/cell)+1)
	g.start = make([]int32, g.cols*g.rows+1)
	return g
}

// Reset empties the grid.
func (g *Grid) Reset() { g.cellOf = g.cellOf[:0] }

func (g *Grid) cellXY(x, y float32) (int, int) {
	cx := min(max(int(x/g.cell), 0), g.cols-1)
	cy := min(max(int(y/g.cell), 0), g.rows-1)
	return cx, cy
}

// Add adds the next item (index = number of Adds before it) at (x, y).
func (g *Grid) Add(x, y float32) {
	cx, cy := g.cellXY(x, y)
	g.cellOf = append(g.cellOf, int32(cy*g.cols+cx))
}

// Finish sorts the added items by cell (a counting sort).
func (g *Grid) Finish() {
	clear(g.start)
	for _, c := range g.cellOf {
		g.start[c+1]++
	}
	for c := 1; c < len(g.start); c++ {
		g.start[c] += g.start[c-1]
	}
	if cap(g.items) < len(g.cellOf) {
		g.items = make([]int32, len(g.cellOf), 2*len(g.cellOf))
	}
	g.items = g.items[:len(g.cellOf)]
	// Place items using the end of each cell's range as a cursor, walking
	// backwards so that each cell keeps item order.
	for i := len(g.cellOf) - 1; i >= 0; i-- {
		c := g.cellOf[i] + 1
		g.start[c]--
		g.items[g.start[c]] = int32(i)
	}
	// start[c+1] now holds the start of cell c: shift back by one.
	copy(g.start, g.start[1:])
	g.start[len(g.start)-1] = int32(len(g.items))
}

// Cells appends to dst the cells that overlap the square of half-side r
// around (x, y), and returns it.
func (g *Grid) Cells(dst []int32, x, y, r float32) []int32 {
	x0, y0 := g.cellXY(x-r, y-r)
	x1, y1 := g.cellXY(x+r, y+r)
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			dst = append(dst, int32(cy*g.cols+cx))
		}
	}
	return dst
}

// Items returns the items of cell c, in the order they were added.
func (g *Grid) Items(c int32) []int32 { return g.items[g.start[c]:g.start[c+1]] }
