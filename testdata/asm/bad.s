r0 = 0
r1 = *(u32 *)(r11 + 4)
exit
