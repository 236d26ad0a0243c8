# bench-rdma.gp: smb3d/ksmbd ratios per workload, over SMB-Direct and over TCP, per channel
# count, from bench-rdma-summary.py's ratios.dat.
# gnuplot -e "out='bench.png'; dat='ratios.dat'; ncol=N; ttl='...'" bench-rdma.gp
set terminal pngcairo size 1100,520 font ",10"
set output out
set title "smb3d / ksmbd in the soft-RoCE guest (QEMU TCG, rxe; median of runs; > 1: smb3d faster)\n".ttl noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "ratio smb3d / ksmbd"
set xtics rotate by -30 noenhanced
set grid ytics
set logscale y 2
set yrange [0.0625:16]
set key top left autotitle columnhead noenhanced
plot 1 with lines lc rgb "black" dt 2 notitle, \
     for [i=2:ncol] dat using i:xtic(1)
