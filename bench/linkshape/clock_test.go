package linkshape

import "time"

// cost is the time some work took: wall-clock time, and the CPU time
// (user plus system) of this process. The machine's cores are shared with
// other work, which stretches the wall time of a run but much less its CPU
// time, so the tables rank shapes by CPU time.
type cost struct{ wall, cpu time.Duration }

// mark is a point in time on both clocks.
type mark struct {
	wall time.Time
	cpu  time.Duration
}

func now() mark { return mark{wall: time.Now(), cpu: processCPU()} }

// add adds the time from m to now to c, and returns now.
func (c *cost) add(m mark) mark {
	n := now()
	c.wall += n.wall.Sub(m.wall)
	c.cpu += n.cpu - m.cpu
	return n
}
