# plot.gp: the smb3d/smbd ratio per workload and channel count, from run.sh's ratios.dat.
# gnuplot -e "out='bench.png'; dat='ratios.dat'; ttl='...'" plot.gp
set terminal pngcairo size 1100,520 font ",10"
set output out
set title "smb3d / Samba smbd (median of runs; > 1: smb3d faster)\n".ttl noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "ratio smb3d / smbd"
set xtics rotate by -30 noenhanced
set grid ytics
set logscale y 2
set yrange [0.125:32]
set key top left autotitle columnhead noenhanced
plot 1 with lines lc rgb "black" dt 2 notitle, \
     for [i=2:ncol] dat using i:xtic(1)
