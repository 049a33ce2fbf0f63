# Sourced by the scripts that measure servers: what they all compute.

# cpu_ticks pid: the CPU time process pid has used, user + system, in
# clock ticks (getconf CLK_TCK a second).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# median: the median of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
