from solartui.cli.main import main

main()
